"""VirtualCoworking analytics: daily team and user aggregates built from domain events."""
