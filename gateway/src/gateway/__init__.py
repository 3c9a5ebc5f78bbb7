"""VirtualCoworking API gateway."""
