"""Alembic migrations of integrations:
``python -m vc_common.migrations integrations upgrade head``."""
