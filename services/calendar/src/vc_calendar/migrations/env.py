"""Alembic environment of calendar (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from vc_calendar.models import Base

run_migrations("calendar", Base.metadata)
