"""outbox: partial indexes on the pending rows, for the relay's claim: (seq), the order it
claims in, and (subject, seq), its per-subject ordering check (an earlier pending row of the
same subject blocks the later ones)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:57:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_pending_seq",
        "outbox",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_pending_subject",
        "outbox",
        ["subject", "seq"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_pending_subject",
        table_name="outbox",
        postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
    )
    op.drop_index(
        "ix_outbox_pending_seq",
        table_name="outbox",
        postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
    )
