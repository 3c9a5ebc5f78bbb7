"""files and team usage

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:29:33.926323
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from vc_common.migrations import ddl

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.check("files", "kind", "kind IN ('file', 'avatar')"),
        ddl.check("files", "state", "state IN ('pending', 'stored', 'deleted')"),
        ddl.check("files", "size", "size >= 0"),
        ddl.primary_key("files"),
    )
    ddl.create_index(
        op, "ix_files_sweep", "files", ["state", "updated_at"], where="state <> 'stored'"
    )
    ddl.create_index(
        op, "ix_files_team_id_created", "files", ["team_id", "id"], where="state = 'stored'"
    )
    ddl.create_index(op, "ix_files_uploaded_by_id_kind", "files", ["uploaded_by_id", "kind"])
    op.create_table(
        "team_usage",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("used_bytes", sa.BigInteger(), nullable=False),
        ddl.check("team_usage", "used_bytes", "used_bytes >= 0"),
        ddl.primary_key("team_usage", "team_id"),
    )


def downgrade() -> None:
    op.drop_table("team_usage")
    op.drop_index("ix_files_uploaded_by_id_kind", table_name="files")
    op.drop_index("ix_files_team_id_created", table_name="files")
    op.drop_index("ix_files_sweep", table_name="files")
    op.drop_table("files")
