"""imported events: the user's Google Calendar events, from integrations' events

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:20:00.000000
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
        "imported_events",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=1024), nullable=False),
        ddl.uuid_id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("integration_type", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_all_day", sa.Boolean(), nullable=False),
        sa.Column("removed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("source_time", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("imported_events", "integration_id", "external_id"),
        ddl.unique("imported_events", "id"),
    )
    ddl.create_index(
        op, "ix_imported_events_user_id_start_time", "imported_events", ["user_id", "start_time"]
    )


def downgrade() -> None:
    op.drop_index("ix_imported_events_user_id_start_time", table_name="imported_events")
    op.drop_table("imported_events")
