"""Alembic environment of tasks (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from tasks.models import Base

run_migrations("tasks", Base.metadata)
