"""Alembic migrations of chat: ``python -m vc_common.migrations chat upgrade head``."""
