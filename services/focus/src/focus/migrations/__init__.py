"""Alembic migrations of focus: ``python -m vc_common.migrations focus upgrade head``."""
