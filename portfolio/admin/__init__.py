"""Administration: accounts, roster import, login slips, guardian registration, school year."""
