"""Alembic environment of analytics (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from analytics.models import Base

run_migrations("analytics", Base.metadata)
