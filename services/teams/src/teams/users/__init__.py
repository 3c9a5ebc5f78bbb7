"""What teams knows of users: a projection of identity's events (``known_users``)."""
