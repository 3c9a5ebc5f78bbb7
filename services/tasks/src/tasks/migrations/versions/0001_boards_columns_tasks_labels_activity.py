"""Boards, columns, tasks, subtasks, comments, attachments, labels, task activity; and the
shared tables: idempotency keys, outbox/inbox, the team-membership projection.

Free-text search over tasks (``q``: a case-insensitive substring of title or description) is
served by a trigram GIN index on lower(title || ' ' || description) when the server has pg_trgm
(contrib). Where it has not (the embedded PostgreSQL of ``make run``), the index is skipped: the
search stays correct, filtered within the team's tasks by the (team_id, ...) indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:14:32.243594
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from teams_client import migrations as projection
from vc_common.migrations import ddl, shared

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_trgm() -> bool:
    row = (
        op.get_bind()
        .execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"))
        .first()
    )
    return row is not None


def upgrade() -> None:
    shared.create_platform_tables(op)
    projection.create_projection_tables(op)
    op.create_table(
        "boards",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.primary_key("boards"),
    )
    ddl.create_index(
        op, "ix_boards_team_id_created_at_id", "boards", ["team_id", "created_at", "id"]
    )
    op.create_table(
        "labels",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        ddl.uuid_id(),
        ddl.check("labels", "color_hex", "color ~ '^#[0-9A-Fa-f]{6}$'"),
        ddl.primary_key("labels"),
        ddl.unique("labels", "team_id", "name"),
    )
    op.create_table(
        "board_columns",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("is_done", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        ddl.uuid_id(),
        ddl.created_at(),
        ddl.check("board_columns", "order_non_negative", '"order" >= 0'),
        ddl.foreign_key("board_columns", "board_id", "boards", ondelete="CASCADE"),
        ddl.primary_key("board_columns"),
        ddl.unique("board_columns", "board_id", "order", deferrable=True, initially="DEFERRED"),
    )
    op.create_table(
        "tasks",
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("column_id", sa.Uuid(), nullable=False),
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.String(length=10), server_default="medium", nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.check("tasks", "priority", "priority IN ('low', 'medium', 'high', 'urgent')"),
        ddl.check("tasks", "position_non_negative", "position >= 0"),
        ddl.foreign_key("tasks", "board_id", "boards", ondelete="CASCADE"),
        ddl.foreign_key("tasks", "column_id", "board_columns"),
        ddl.primary_key("tasks"),
        ddl.unique("tasks", "column_id", "position", deferrable=True, initially="DEFERRED"),
    )
    ddl.create_index(
        op, "ix_tasks_board_id_column_id_position", "tasks", ["board_id", "column_id", "position"]
    )
    if _has_trgm():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        ddl.create_index(
            op,
            "ix_tasks_search_trgm",
            "tasks",
            [sa.text("(lower(title || ' ' || description)) gin_trgm_ops")],
            using="gin",
        )
    ddl.create_index(op, "ix_tasks_team_id_assignee_id", "tasks", ["team_id", "assignee_id"])
    ddl.create_index(op, "ix_tasks_team_id_created_at_id", "tasks", ["team_id", "created_at", "id"])
    ddl.create_index(op, "ix_tasks_team_id_due_date", "tasks", ["team_id", "due_date"])
    op.create_table(
        "subtasks",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("is_completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.foreign_key("subtasks", "task_id", "tasks", ondelete="CASCADE"),
        ddl.primary_key("subtasks"),
    )
    ddl.create_index(op, "ix_subtasks_task_id", "subtasks", ["task_id"])
    op.create_table(
        "task_activity",
        ddl.uuid_id(),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column(
            "changes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        ddl.created_at(),
        ddl.foreign_key("task_activity", "task_id", "tasks", ondelete="CASCADE"),
        ddl.primary_key("task_activity"),
    )
    ddl.create_index(
        op,
        "ix_task_activity_task_id_created_at_id",
        "task_activity",
        ["task_id", "created_at", "id"],
    )
    op.create_table(
        "task_attachments",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("file_url", sa.String(length=2048), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=False),
        ddl.uuid_id(),
        ddl.created_at(),
        ddl.foreign_key("task_attachments", "task_id", "tasks", ondelete="CASCADE"),
        ddl.primary_key("task_attachments"),
    )
    ddl.create_index(op, "ix_task_attachments_task_id", "task_attachments", ["task_id"])
    op.create_table(
        "task_comments",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.foreign_key("task_comments", "task_id", "tasks", ondelete="CASCADE"),
        ddl.primary_key("task_comments"),
    )
    ddl.create_index(
        op,
        "ix_task_comments_task_id_created_at_id",
        "task_comments",
        ["task_id", "created_at", "id"],
    )
    op.create_table(
        "task_labels",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("label_id", sa.Uuid(), nullable=False),
        ddl.foreign_key("task_labels", "label_id", "labels", ondelete="CASCADE"),
        ddl.foreign_key("task_labels", "task_id", "tasks", ondelete="CASCADE"),
        ddl.primary_key("task_labels", "task_id", "label_id"),
    )
    ddl.create_index(op, "ix_task_labels_label_id", "task_labels", ["label_id"])


def downgrade() -> None:
    op.drop_index("ix_task_labels_label_id", table_name="task_labels")
    op.drop_table("task_labels")
    op.drop_index("ix_task_comments_task_id_created_at_id", table_name="task_comments")
    op.drop_table("task_comments")
    op.drop_index("ix_task_attachments_task_id", table_name="task_attachments")
    op.drop_table("task_attachments")
    op.drop_index("ix_task_activity_task_id_created_at_id", table_name="task_activity")
    op.drop_table("task_activity")
    op.drop_index("ix_subtasks_task_id", table_name="subtasks")
    op.drop_table("subtasks")
    op.drop_index("ix_tasks_team_id_due_date", table_name="tasks")
    op.drop_index("ix_tasks_team_id_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_team_id_assignee_id", table_name="tasks")
    op.execute("DROP INDEX IF EXISTS ix_tasks_search_trgm")
    op.drop_index("ix_tasks_board_id_column_id_position", table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("board_columns")
    op.drop_table("labels")
    op.drop_index("ix_boards_team_id_created_at_id", table_name="boards")
    op.drop_table("boards")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")  # created by upgrade, used by nothing else
    projection.drop_projection_tables(op)
    shared.drop_platform_tables(op)
