"""Alembic environment of chat (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from chat.models import Base

run_migrations("chat", Base.metadata)
