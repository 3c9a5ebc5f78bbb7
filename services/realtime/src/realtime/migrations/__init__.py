"""Alembic migrations of realtime: ``python -m vc_common.migrations realtime upgrade head``."""
