"""Alembic migrations of teams: ``python -m vc_common.migrations teams upgrade head``."""
