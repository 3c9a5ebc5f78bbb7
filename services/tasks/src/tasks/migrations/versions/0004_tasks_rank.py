"""tasks: a sparse rank in place of the dense position

A move used to renumber its columns (position 0..n-1 stored on every task); now a task's place in
its column is ``rank``, a bigint with gaps, and the API's position is computed when reading. The
ranks are backfilled from today's order, ``RANK_GAP`` (2**32, as ``tasks.ordering``) apart. The
downgrade stores the dense positions again from the ranks' order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANK_GAP = 1 << 32  # tasks.ordering.RANK_GAP when this revision was written


def upgrade() -> None:
    op.add_column("tasks", sa.Column("rank", sa.BigInteger(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE tasks SET rank = o.n * :gap FROM ("
            " SELECT id, row_number() OVER (PARTITION BY column_id ORDER BY position, id) - 1 AS n"
            " FROM tasks) AS o WHERE tasks.id = o.id"
        ).bindparams(gap=RANK_GAP)
    )
    op.alter_column("tasks", "rank", nullable=False)
    op.drop_index("ix_tasks_board_id_column_id_position", table_name="tasks")
    op.drop_constraint(op.f("uq_tasks_column_id_position"), "tasks", type_="unique")
    op.drop_constraint(op.f("ck_tasks_position_non_negative"), "tasks", type_="check")
    op.drop_column("tasks", "position")
    op.create_unique_constraint(
        op.f("uq_tasks_column_id_rank"),
        "tasks",
        ["column_id", "rank"],
        deferrable=True,
        initially="IMMEDIATE",
    )
    op.create_index(
        "ix_tasks_board_id_column_id_rank", "tasks", ["board_id", "column_id", "rank"], unique=False
    )


def downgrade() -> None:
    op.add_column("tasks", sa.Column("position", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE tasks SET position = o.n FROM ("
        " SELECT id, row_number() OVER (PARTITION BY column_id ORDER BY rank, id) - 1 AS n"
        " FROM tasks) AS o WHERE tasks.id = o.id"
    )
    op.alter_column("tasks", "position", nullable=False)
    op.drop_index("ix_tasks_board_id_column_id_rank", table_name="tasks")
    op.drop_constraint(op.f("uq_tasks_column_id_rank"), "tasks", type_="unique")
    op.drop_column("tasks", "rank")
    op.create_check_constraint(op.f("ck_tasks_position_non_negative"), "tasks", "position >= 0")
    op.create_unique_constraint(
        op.f("uq_tasks_column_id_position"),
        "tasks",
        ["column_id", "position"],
        deferrable=True,
        initially="DEFERRED",
    )
    op.create_index(
        "ix_tasks_board_id_column_id_position",
        "tasks",
        ["board_id", "column_id", "position"],
        unique=False,
    )
