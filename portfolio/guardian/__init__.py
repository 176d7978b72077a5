"""The families' view: guardians see their children's progress and what is shared."""
