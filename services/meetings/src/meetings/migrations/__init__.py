"""Alembic migrations of meetings: ``python -m vc_common.migrations meetings upgrade head``."""
