"""Alembic environment of focus (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from focus.models import Base

run_migrations("focus", Base.metadata)
