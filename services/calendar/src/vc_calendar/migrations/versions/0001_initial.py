"""the platform's tables (idempotency keys, outbox, inbox) and the membership projection

Revision ID: 0001
Revises:
Create Date: 2026-12-01 11:18:05
"""

from collections.abc import Sequence

from alembic import op
from teams_client import migrations as projection
from vc_common.migrations import shared

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shared.create_all(op)
    projection.create_projection_tables(op)


def downgrade() -> None:
    projection.drop_projection_tables(op)
    shared.drop_all(op)
