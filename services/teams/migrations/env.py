"""Alembic environment of the teams service (its own database, see vc_common.migrations)."""

from teams.models import Base
from vc_common.migrations import run_migrations

run_migrations("teams", Base.metadata)
