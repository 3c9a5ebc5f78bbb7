"""What every WebSocket service does the same way: fan-out between replicas, the token guard."""
