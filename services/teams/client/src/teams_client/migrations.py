"""The membership projection's schema (``team_members``, ``deleted_teams``), for the revisions of
the services that keep it. Steps are frozen once released (see ``vc_common.migrations.shared``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def create_projection_tables(op: Any) -> None:
    op.create_table(
        "deleted_teams",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_deleted_teams")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"], unique=False)


def drop_projection_tables(op: Any) -> None:
    op.drop_index("ix_team_members_user_id", table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("deleted_teams")
