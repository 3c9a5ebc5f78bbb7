"""VirtualCoworking teams service."""
