"""Alembic environment of integrations (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from integrations.models import Base

run_migrations("integrations", Base.metadata)
