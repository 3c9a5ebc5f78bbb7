"""Alembic environment of files (its own database; see vc_common.migrations)."""

from vc_common.migrations import run_migrations

from files.models import Base

run_migrations("files", Base.metadata)
