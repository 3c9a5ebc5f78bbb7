"""rooms, messages, room events, outbox, inbox, membership projection

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 09:17:44.640611
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
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
        "rooms",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        ddl.updated_at(),
        sa.Column("last_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        ddl.uuid_id(),
        ddl.created_at(),
        ddl.primary_key("rooms"),
    )
    ddl.create_index(op, "ix_rooms_team_id_created_at_id", "rooms", ["team_id", "created_at", "id"])
    ddl.create_index(
        op,
        "uq_rooms_team_id_lower_name",
        "rooms",
        ["team_id", sa.literal_column("lower(name)")],
        unique=True,
    )
    op.create_table(
        "messages",
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        ddl.timestamp_now("timestamp"),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        ddl.uuid_id(),
        ddl.foreign_key("messages", "room_id", "rooms", ondelete="CASCADE"),
        ddl.primary_key("messages"),
        ddl.unique("messages", "room_id", "seq"),
    )
    op.create_table(
        "room_events",
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        ddl.created_at(),
        ddl.foreign_key("room_events", "message_id", "messages", ondelete="CASCADE"),
        ddl.foreign_key("room_events", "room_id", "rooms", ondelete="CASCADE"),
        ddl.primary_key("room_events", "room_id", "seq"),
    )
    ddl.create_index(op, "ix_room_events_message_id", "room_events", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_room_events_message_id", table_name="room_events")
    op.drop_table("room_events")
    op.drop_table("messages")
    op.drop_index("uq_rooms_team_id_lower_name", table_name="rooms")
    op.drop_index("ix_rooms_team_id_created_at_id", table_name="rooms")
    op.drop_table("rooms")
    projection.drop_projection_tables(op)
    shared.drop_platform_tables(op)
