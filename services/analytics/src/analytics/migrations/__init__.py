"""Alembic migrations of analytics: ``python -m vc_common.migrations analytics upgrade head``."""
