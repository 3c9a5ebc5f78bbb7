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
from vc_common.migrations import shared

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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boards")),
    )
    op.create_index(
        "ix_boards_team_id_created_at_id", "boards", ["team_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "labels",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name=op.f("ck_labels_color_hex")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_labels_team_id_name")),
    )
    op.create_table(
        "board_columns",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("is_done", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint('"order" >= 0', name=op.f("ck_board_columns_order_non_negative")),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_columns_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_columns")),
        sa.UniqueConstraint(
            "board_id",
            "order",
            deferrable=True,
            initially="DEFERRED",
            name=op.f("uq_board_columns_board_id_order"),
        ),
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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')", name=op.f("ck_tasks_priority")
        ),
        sa.CheckConstraint("position >= 0", name=op.f("ck_tasks_position_non_negative")),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_tasks_board_id_boards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["column_id"], ["board_columns.id"], name=op.f("fk_tasks_column_id_board_columns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint(
            "column_id",
            "position",
            deferrable=True,
            initially="DEFERRED",
            name=op.f("uq_tasks_column_id_position"),
        ),
    )
    op.create_index(
        "ix_tasks_board_id_column_id_position",
        "tasks",
        ["board_id", "column_id", "position"],
        unique=False,
    )
    if _has_trgm():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_tasks_search_trgm",
            "tasks",
            [sa.text("(lower(title || ' ' || description)) gin_trgm_ops")],
            unique=False,
            postgresql_using="gin",
        )
    op.create_index(
        "ix_tasks_team_id_assignee_id", "tasks", ["team_id", "assignee_id"], unique=False
    )
    op.create_index(
        "ix_tasks_team_id_created_at_id", "tasks", ["team_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_tasks_team_id_due_date", "tasks", ["team_id", "due_date"], unique=False)
    op.create_table(
        "subtasks",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("is_completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_subtasks_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subtasks")),
    )
    op.create_index(op.f("ix_subtasks_task_id"), "subtasks", ["task_id"], unique=False)
    op.create_table(
        "task_activity",
        sa.Column("id", sa.Uuid(), nullable=False),
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
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_activity_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_activity")),
    )
    op.create_index(
        "ix_task_activity_task_id_created_at_id",
        "task_activity",
        ["task_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "task_attachments",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("file_url", sa.String(length=2048), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_attachments_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_attachments")),
    )
    op.create_index(
        op.f("ix_task_attachments_task_id"), "task_attachments", ["task_id"], unique=False
    )
    op.create_table(
        "task_comments",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_comments_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comments")),
    )
    op.create_index(
        "ix_task_comments_task_id_created_at_id",
        "task_comments",
        ["task_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "task_labels",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("label_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["labels.id"],
            name=op.f("fk_task_labels_label_id_labels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_labels_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "label_id", name=op.f("pk_task_labels")),
    )
    op.create_index(op.f("ix_task_labels_label_id"), "task_labels", ["label_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_task_labels_label_id"), table_name="task_labels")
    op.drop_table("task_labels")
    op.drop_index("ix_task_comments_task_id_created_at_id", table_name="task_comments")
    op.drop_table("task_comments")
    op.drop_index(op.f("ix_task_attachments_task_id"), table_name="task_attachments")
    op.drop_table("task_attachments")
    op.drop_index("ix_task_activity_task_id_created_at_id", table_name="task_activity")
    op.drop_table("task_activity")
    op.drop_index(op.f("ix_subtasks_task_id"), table_name="subtasks")
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
