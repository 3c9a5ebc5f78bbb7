"""NOT PRODUCTION CODE. Local provider sandboxes (see README)."""
