"""Alembic environment of teams (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from teams.models import Base

run_migrations("teams", Base.metadata)
