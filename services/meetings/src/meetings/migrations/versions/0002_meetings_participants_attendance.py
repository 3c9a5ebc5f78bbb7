"""meetings, participants, attendance intervals, provider webhooks

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:27:00.520472
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
        "meetings",
        ddl.uuid_id(),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("room_name", sa.String(length=128), nullable=False),
        sa.Column("meeting_link", sa.String(length=2048), nullable=False),
        sa.Column("recording_url", sa.String(length=2048), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        *ddl.timestamps(),
        ddl.check(
            "meetings", "status", "status IN ('scheduled', 'in_progress', 'completed', 'cancelled')"
        ),
        ddl.check("meetings", "end_after_start", "end_time > start_time"),
        ddl.primary_key("meetings"),
        ddl.unique("meetings", "room_name"),
    )
    ddl.create_index(
        op, "ix_meetings_in_progress", "meetings", ["end_time"], where="status = 'in_progress'"
    )
    ddl.create_index(
        op, "ix_meetings_team_id_start_time", "meetings", ["team_id", "start_time", "id"]
    )
    op.create_table(
        "provider_webhooks",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("provider_webhooks", "provider", "event_id"),
    )
    op.create_table(
        "attendance_intervals",
        ddl.uuid_id(),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("source_key", sa.String(length=128), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        ddl.foreign_key("attendance_intervals", "meeting_id", "meetings", ondelete="CASCADE"),
        ddl.primary_key("attendance_intervals"),
        ddl.unique("attendance_intervals", "meeting_id", "source_key"),
    )
    ddl.create_index(
        op,
        "ix_attendance_intervals_meeting_id_user_id",
        "attendance_intervals",
        ["meeting_id", "user_id"],
    )
    op.create_table(
        "meeting_participants",
        ddl.uuid_id(),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("invited", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("join_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leave_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attended_seconds", sa.Integer(), server_default="0", nullable=False),
        ddl.created_at(),
        ddl.check("meeting_participants", "status", "status IN ('invited', 'joined', 'left')"),
        ddl.foreign_key("meeting_participants", "meeting_id", "meetings", ondelete="CASCADE"),
        ddl.primary_key("meeting_participants"),
        ddl.unique("meeting_participants", "meeting_id", "user_id"),
    )
    ddl.create_index(op, "ix_meeting_participants_user_id", "meeting_participants", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_meeting_participants_user_id", table_name="meeting_participants")
    op.drop_table("meeting_participants")
    op.drop_index("ix_attendance_intervals_meeting_id_user_id", table_name="attendance_intervals")
    op.drop_table("attendance_intervals")
    op.drop_table("provider_webhooks")
    op.drop_index("ix_meetings_team_id_start_time", table_name="meetings")
    op.drop_index("ix_meetings_in_progress", table_name="meetings")
    op.drop_table("meetings")
