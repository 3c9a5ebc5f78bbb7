"""The event backbone: CloudEvents envelope, transactional outbox, relay, inbox, broker adapters."""
