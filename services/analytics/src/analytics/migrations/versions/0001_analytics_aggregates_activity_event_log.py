"""analytics aggregates, activity, event log

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:24:06.858772+00:00
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


def upgrade() -> None:
    shared.create_platform_tables(op)
    projection.create_projection_tables(op)
    op.create_table(
        "analytics_events",
        ddl.uuid_id(),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("user_timezone", sa.String(length=64), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        ddl.timestamp_now("received_at"),
        ddl.primary_key("analytics_events"),
    )
    ddl.create_index(op, "ix_analytics_events_team_id", "analytics_events", ["team_id"])
    ddl.create_index(op, "ix_analytics_events_time", "analytics_events", ["time"])
    op.create_table(
        "meeting_attendance",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        ddl.created_at(),
        ddl.primary_key("meeting_attendance", "meeting_id", "user_id"),
    )
    ddl.create_index(op, "ix_meeting_attendance_team_id", "meeting_attendance", ["team_id"])
    ddl.create_index(
        op, "ix_meeting_attendance_user_id_date", "meeting_attendance", ["user_id", "date"]
    )
    op.create_table(
        "team_activity",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        ddl.primary_key("team_activity", "team_id", "date", "user_id"),
    )
    op.create_table(
        "team_analytics",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("active_members", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("completed_tasks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_focus_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("meetings_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.primary_key("team_analytics"),
        ddl.unique("team_analytics", "team_id", "date"),
    )
    op.create_table(
        "user_analytics",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("completed_tasks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("focus_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("meetings_attended", sa.Integer(), server_default=sa.text("0"), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.primary_key("user_analytics"),
        ddl.unique("user_analytics", "user_id", "date"),
    )
    op.create_table(
        "user_timezones",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("source_time", sa.DateTime(timezone=True), nullable=False),
        ddl.updated_at(),
        ddl.check("user_timezones", "timezone_not_empty", "timezone <> ''"),
        ddl.primary_key("user_timezones", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("user_timezones")
    op.drop_table("user_analytics")
    op.drop_table("team_analytics")
    op.drop_table("team_activity")
    op.drop_index("ix_meeting_attendance_user_id_date", table_name="meeting_attendance")
    op.drop_index("ix_meeting_attendance_team_id", table_name="meeting_attendance")
    op.drop_table("meeting_attendance")
    op.drop_index("ix_analytics_events_time", table_name="analytics_events")
    op.drop_index("ix_analytics_events_team_id", table_name="analytics_events")
    op.drop_table("analytics_events")
    projection.drop_projection_tables(op)
    shared.drop_platform_tables(op)
