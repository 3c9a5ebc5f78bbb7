"""Teams and their memberships."""
