"""A user's notification preferences: channels per kind, focus deferral, quiet hours."""
