"""revocations: the durable list of revoked access tokens every verifier projects

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 14:10:00.000000
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
        "revocations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        ddl.created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        ddl.check("revocations", "kind", "kind IN ('jti', 'sid', 'user')"),
        ddl.primary_key("revocations"),
    )
    ddl.create_index(op, "ix_revocations_created_at", "revocations", ["created_at"])
    ddl.create_index(op, "ix_revocations_expires_at", "revocations", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_revocations_expires_at", table_name="revocations")
    op.drop_index("ix_revocations_created_at", table_name="revocations")
    op.drop_table("revocations")
