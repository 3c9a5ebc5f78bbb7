"""Alembic migrations of identity: ``python -m vc_common.migrations identity upgrade head``."""
