"""Alembic migrations of tasks: ``python -m vc_common.migrations tasks upgrade head``."""
