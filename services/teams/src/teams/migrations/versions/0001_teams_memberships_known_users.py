"""teams, memberships, known users (plus idempotency keys, outbox, inbox)

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:13:01.480053
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from vc_common.migrations import ddl, shared

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shared.create_platform_tables(op)
    op.create_table(
        "known_users",
        ddl.uuid_id(),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=True),
        ddl.updated_at(),
        ddl.primary_key("known_users"),
    )
    op.create_table(
        "teams",
        ddl.uuid_id(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("member_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        ddl.created_at(),
        ddl.updated_at(),
        ddl.primary_key("teams"),
    )
    op.create_table(
        "team_memberships",
        ddl.uuid_id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        ddl.timestamp_now("joined_at"),
        ddl.check("team_memberships", "role", "role IN ('owner', 'admin', 'member')"),
        ddl.foreign_key("team_memberships", "team_id", "teams", ondelete="CASCADE"),
        ddl.primary_key("team_memberships"),
        ddl.unique("team_memberships", "team_id", "user_id"),
    )
    ddl.create_index(op, "ix_team_memberships_user_id", "team_memberships", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_team_memberships_user_id", table_name="team_memberships")
    op.drop_table("team_memberships")
    op.drop_table("teams")
    op.drop_table("known_users")
    shared.drop_platform_tables(op)
