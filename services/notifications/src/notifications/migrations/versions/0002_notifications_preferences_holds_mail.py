"""notifications, preferences, holds, mail queue, projections

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:29:23.801336
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from vc_common.migrations import ddl

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_batches",
        ddl.uuid_id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        ddl.check(
            "email_batches",
            "email_status_known",
            "status IN ('pending', 'sent', 'skipped', 'dead')",
        ),
        ddl.primary_key("email_batches"),
    )
    ddl.create_index(
        op, "ix_email_batches_due", "email_batches", ["send_after"], where="status = 'pending'"
    )
    ddl.create_index(
        op, "ix_email_batches_open_user", "email_batches", ["user_id"], where="status = 'pending'"
    )
    op.create_table(
        "focus_sessions",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("focus_sessions", "session_id"),
    )
    ddl.create_index(
        op, "ix_focus_sessions_user_id", "focus_sessions", ["user_id", "planned_end_time"]
    )
    op.create_table(
        "holds",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("holds", "user_id"),
    )
    ddl.create_index(op, "ix_holds_release_at", "holds", ["release_at"])
    op.create_table(
        "known_teams",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        ddl.primary_key("known_teams", "team_id"),
    )
    op.create_table(
        "known_users",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("source_time", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("known_users", "user_id"),
    )
    ddl.create_index(
        op, "ix_known_users_username_lower", "known_users", [sa.literal_column("lower(username)")]
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "channels",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "defer_during_focus", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        ddl.updated_at(),
        ddl.check(
            "notification_preferences",
            "quiet_hours_whole",
            "(quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)",
        ),
        ddl.primary_key("notification_preferences", "user_id"),
    )
    op.create_table(
        "notifications",
        ddl.uuid_id(),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("notification_type", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("is_read", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("email_batch_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("source_event_id", sa.Uuid(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        ddl.check(
            "notifications",
            "notification_type_known",
            "notification_type IN ('info', 'warning', 'error', 'success')",
        ),
        ddl.primary_key("notifications"),
    )
    ddl.create_index(
        op,
        "ix_notifications_email_batch_id",
        "notifications",
        ["email_batch_id"],
        where="email_batch_id IS NOT NULL",
    )
    ddl.create_index(
        op, "ix_notifications_held", "notifications", ["recipient_id"], where="delivered_at IS NULL"
    )
    ddl.create_index(
        op,
        "ix_notifications_inbox",
        "notifications",
        ["recipient_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        where="delivered_at IS NOT NULL AND in_app",
    )
    ddl.create_index(
        op,
        "ix_notifications_unread",
        "notifications",
        ["recipient_id"],
        where="NOT is_read AND delivered_at IS NOT NULL AND in_app",
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_index("ix_notifications_inbox", table_name="notifications")
    op.drop_index("ix_notifications_held", table_name="notifications")
    op.drop_index("ix_notifications_email_batch_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("notification_preferences")
    op.drop_index("ix_known_users_username_lower", table_name="known_users")
    op.drop_table("known_users")
    op.drop_table("known_teams")
    op.drop_index("ix_holds_release_at", table_name="holds")
    op.drop_table("holds")
    op.drop_index("ix_focus_sessions_user_id", table_name="focus_sessions")
    op.drop_table("focus_sessions")
    op.drop_index("ix_email_batches_open_user", table_name="email_batches")
    op.drop_index("ix_email_batches_due", table_name="email_batches")
    op.drop_table("email_batches")
