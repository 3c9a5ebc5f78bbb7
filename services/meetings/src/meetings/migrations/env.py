"""Alembic environment of meetings (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from meetings.models import Base

run_migrations("meetings", Base.metadata)
