"""Alembic environment of the chat service (its own database, see vc_common.migrations)."""

from chat.models import Base
from vc_common.migrations import run_migrations

run_migrations("chat", Base.metadata)
