"""team storage days

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:03:41.863362
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
        "team_storage_days",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("delta_bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        ddl.primary_key("team_storage_days", "team_id", "date"),
    )


def downgrade() -> None:
    op.drop_table("team_storage_days")
