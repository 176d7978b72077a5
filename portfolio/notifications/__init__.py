"""In-app notifications ("News"): what happened to a user's things since they last looked."""
