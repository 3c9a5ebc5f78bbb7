"""Alembic environment of notifications (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from notifications.models import Base

run_migrations("notifications", Base.metadata)
