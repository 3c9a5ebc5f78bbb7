"""Alembic environment of identity (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from identity.models import Base

run_migrations("identity", Base.metadata)
