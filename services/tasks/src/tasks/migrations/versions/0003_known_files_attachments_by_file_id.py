"""known files, attachments by file_id

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:56:36.235627
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from vc_common.migrations import ddl

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_files",
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("known_files", "file_id"),
    )
    ddl.create_index(op, "ix_known_files_team_id", "known_files", ["team_id"])
    op.add_column("task_attachments", sa.Column("file_id", sa.Uuid(), nullable=True))
    ddl.create_index(op, "ix_task_attachments_file_id", "task_attachments", ["file_id"])


def downgrade() -> None:
    op.drop_index("ix_task_attachments_file_id", table_name="task_attachments")
    op.drop_column("task_attachments", "file_id")
    op.drop_index("ix_known_files_team_id", table_name="known_files")
    op.drop_table("known_files")
