"""Alembic migrations of notifications:
``python -m vc_common.migrations notifications upgrade head``."""
