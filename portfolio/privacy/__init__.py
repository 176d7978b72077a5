"""Data protection for pupils and guardians: consents, who looked, take-away package."""
