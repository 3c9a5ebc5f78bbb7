"""Alembic environment of realtime (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from realtime.models import Base

run_migrations("realtime", Base.metadata)
