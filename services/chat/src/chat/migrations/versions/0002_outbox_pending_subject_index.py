"""outbox: partial indexes on the pending rows, for the relay's claim (vc_common.migrations.shared)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:57:00.000000
"""

from collections.abc import Sequence

from alembic import op
from vc_common.migrations import shared

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shared.add_outbox_indexes(op)


def downgrade() -> None:
    shared.drop_outbox_indexes(op)
