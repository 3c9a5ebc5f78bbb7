"""The membership projection's schema (``team_members``, ``deleted_teams``), for the revisions of
the services that keep it. Steps are frozen once released (see ``vc_common.migrations.shared``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from vc_common.migrations import ddl


def create_projection_tables(op: Any) -> None:
    op.create_table(
        "deleted_teams",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        ddl.timestamp_now("deleted_at"),
        ddl.primary_key("deleted_teams", "team_id"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        ddl.updated_at(),
        ddl.primary_key("team_members", "team_id", "user_id"),
    )
    ddl.create_index(op, "ix_team_members_user_id", "team_members", ["user_id"])


def drop_projection_tables(op: Any) -> None:
    op.drop_index("ix_team_members_user_id", table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("deleted_teams")
