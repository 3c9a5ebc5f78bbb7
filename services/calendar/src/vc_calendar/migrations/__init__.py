"""Alembic migrations of calendar: ``python -m vc_common.migrations calendar upgrade head``."""
