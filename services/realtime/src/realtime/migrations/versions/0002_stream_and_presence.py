"""the stream log (resume, gap repair) and the presence facts (the team's now)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:31:49.072666
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
        "calendar_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=20), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_all_day", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("recurrence", sa.Text(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("version", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("calendar_events", "event_id"),
    )
    op.create_table(
        "connections",
        sa.Column("socket_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("replica_id", sa.Uuid(), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("connections", "socket_id"),
    )
    ddl.create_index(op, "ix_connections_replica_id", "connections", ["replica_id"])
    ddl.create_index(op, "ix_connections_user_id", "connections", ["user_id"])
    op.create_table(
        "ended_meetings",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("ended_meetings", "meeting_id"),
    )
    op.create_table(
        "focus_sessions",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("focus_type", sa.String(length=20), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("focus_sessions", "session_id"),
    )
    ddl.create_index(op, "ix_focus_sessions_user_id", "focus_sessions", ["user_id"])
    op.create_table(
        "meeting_participants",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("meeting_participants", "meeting_id", "user_id"),
    )
    ddl.create_index(op, "ix_meeting_participants_user_id", "meeting_participants", ["user_id"])
    op.create_table(
        "presence",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'offline'"), nullable=False
        ),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disconnected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("presence", "user_id"),
    )
    ddl.create_index(
        op,
        "ix_presence_next_check_at",
        "presence",
        ["next_check_at"],
        where="next_check_at IS NOT NULL",
    )
    op.create_table(
        "replicas",
        sa.Column("replica_id", sa.Uuid(), nullable=False),
        ddl.timestamp_now("started_at"),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("replicas", "replica_id"),
    )
    op.create_table(
        "stream_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column("change", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("frame", sa.Text(), nullable=False),
        ddl.created_at(),
        ddl.primary_key("stream_log", "seq"),
        ddl.unique("stream_log", "event_id"),
    )
    ddl.create_index(op, "ix_stream_log_created_at", "stream_log", ["created_at"])
    ddl.create_index(op, "ix_stream_log_recipient_id", "stream_log", ["recipient_id"])
    ddl.create_index(op, "ix_stream_log_team_id", "stream_log", ["team_id"])
    op.create_table(
        "stream_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        ddl.primary_key("stream_state"),
    )
    op.create_table(
        "calendar_attendees",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        ddl.foreign_key(
            "calendar_attendees", "event_id", "calendar_events", "event_id", ondelete="CASCADE"
        ),
        ddl.primary_key("calendar_attendees", "event_id", "user_id"),
    )
    ddl.create_index(op, "ix_calendar_attendees_user_id", "calendar_attendees", ["user_id"])
    op.execute("INSERT INTO stream_state (id, last_seq) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_index("ix_calendar_attendees_user_id", table_name="calendar_attendees")
    op.drop_table("calendar_attendees")
    op.drop_table("stream_state")
    op.drop_index("ix_stream_log_team_id", table_name="stream_log")
    op.drop_index("ix_stream_log_recipient_id", table_name="stream_log")
    op.drop_index("ix_stream_log_created_at", table_name="stream_log")
    op.drop_table("stream_log")
    op.drop_table("replicas")
    op.drop_index("ix_presence_next_check_at", table_name="presence")
    op.drop_table("presence")
    op.drop_index("ix_meeting_participants_user_id", table_name="meeting_participants")
    op.drop_table("meeting_participants")
    op.drop_index("ix_focus_sessions_user_id", table_name="focus_sessions")
    op.drop_table("focus_sessions")
    op.drop_table("ended_meetings")
    op.drop_index("ix_connections_user_id", table_name="connections")
    op.drop_index("ix_connections_replica_id", table_name="connections")
    op.drop_table("connections")
    op.drop_table("calendar_events")
