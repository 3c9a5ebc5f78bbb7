"""Alembic migrations of files: ``python -m vc_common.migrations files upgrade head``."""
