"""calendar events attendees exdates reminders feeds projections

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:27:51.885414
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
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("is_all_day", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("recurrence", sa.String(length=500), nullable=True),
        sa.Column("series_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.Integer(), server_default=sa.text("0"), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.check(
            "calendar_events",
            "event_type",
            "event_type IN ('meeting', 'deadline', 'reminder', 'other')",
        ),
        ddl.check("calendar_events", "end_after_start", "end_time >= start_time"),
        ddl.primary_key("calendar_events"),
    )
    ddl.create_index(
        op,
        "ix_calendar_events_created_by_id_start_time",
        "calendar_events",
        ["created_by_id", "start_time"],
    )
    ddl.create_index(
        op, "ix_calendar_events_team_id_start_time", "calendar_events", ["team_id", "start_time"]
    )
    op.create_table(
        "feed_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        ddl.created_at(),
        ddl.primary_key("feed_tokens", "user_id"),
        ddl.unique("feed_tokens", "token_hash"),
    )
    op.create_table(
        "meeting_items",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("participant_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("cancelled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("source_time", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("meeting_items", "meeting_id"),
    )
    ddl.create_index(
        op, "ix_meeting_items_participant_ids", "meeting_items", ["participant_ids"], using="gin"
    )
    ddl.create_index(op, "ix_meeting_items_start_time", "meeting_items", ["start_time"])
    op.create_table(
        "task_deadlines",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("board_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("is_completed", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("source_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completion_time", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("task_deadlines", "task_id"),
    )
    ddl.create_index(
        op,
        "ix_task_deadlines_open",
        "task_deadlines",
        ["team_id", "due_date"],
        where="due_date IS NOT NULL AND NOT is_completed AND NOT deleted",
    )
    op.create_table(
        "user_timezones",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("source_time", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("user_timezones", "user_id"),
    )
    op.create_table(
        "event_attendees",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        ddl.foreign_key("event_attendees", "event_id", "calendar_events", ondelete="CASCADE"),
        ddl.primary_key("event_attendees", "event_id", "user_id"),
    )
    ddl.create_index(op, "ix_event_attendees_user_id", "event_attendees", ["user_id"])
    op.create_table(
        "event_exdates",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence_start", sa.DateTime(timezone=True), nullable=False),
        ddl.foreign_key("event_exdates", "event_id", "calendar_events", ondelete="CASCADE"),
        ddl.primary_key("event_exdates", "event_id", "occurrence_start"),
    )
    op.create_table(
        "reminders",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("reminder_type", sa.String(length=16), nullable=False),
        sa.Column("minutes_before", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("next_occurrence_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=True),
        ddl.uuid_id(),
        ddl.created_at(),
        ddl.check(
            "reminders", "reminder_type", "reminder_type IN ('email', 'notification', 'both')"
        ),
        ddl.check("reminders", "minutes_before", "minutes_before BETWEEN 0 AND 40320"),
        ddl.foreign_key("reminders", "event_id", "calendar_events", ondelete="CASCADE"),
        ddl.primary_key("reminders"),
    )
    ddl.create_index(
        op, "ix_reminders_due", "reminders", ["next_fire_at"], where="next_fire_at IS NOT NULL"
    )
    ddl.create_index(op, "ix_reminders_event_id", "reminders", ["event_id"])
    op.create_table(
        "reminder_deliveries",
        sa.Column("reminder_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        ddl.foreign_key("reminder_deliveries", "reminder_id", "reminders", ondelete="CASCADE"),
        ddl.primary_key("reminder_deliveries", "reminder_id", "occurrence_start"),
    )


def downgrade() -> None:
    op.drop_table("reminder_deliveries")
    op.drop_index("ix_reminders_event_id", table_name="reminders")
    op.drop_index("ix_reminders_due", table_name="reminders")
    op.drop_table("reminders")
    op.drop_table("event_exdates")
    op.drop_index("ix_event_attendees_user_id", table_name="event_attendees")
    op.drop_table("event_attendees")
    op.drop_table("user_timezones")
    op.drop_index("ix_task_deadlines_open", table_name="task_deadlines")
    op.drop_table("task_deadlines")
    op.drop_index("ix_meeting_items_start_time", table_name="meeting_items")
    op.drop_index("ix_meeting_items_participant_ids", table_name="meeting_items")
    op.drop_table("meeting_items")
    op.drop_table("feed_tokens")
    op.drop_index("ix_calendar_events_team_id_start_time", table_name="calendar_events")
    op.drop_index("ix_calendar_events_created_by_id_start_time", table_name="calendar_events")
    op.drop_table("calendar_events")
