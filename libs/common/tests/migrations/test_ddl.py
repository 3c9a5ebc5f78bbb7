"""The migration helpers are frozen: applied revisions call them, so what they create must never
change. Should this test fail, a helper was changed: restore it, and add a new function instead."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from vc_common.migrations import ddl
from vc_common.models import service_metadata

FROZEN = """
CREATE TABLE boards (
    id UUID NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_boards PRIMARY KEY (id)
);

CREATE TABLE cards (
    board_id UUID NOT NULL,
    owner_id UUID NOT NULL,
    position INTEGER NOT NULL,
    seen_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_cards PRIMARY KEY (board_id, position),
    CONSTRAINT ck_cards_position_non_negative CHECK (position >= 0),
    CONSTRAINT fk_cards_board_id_boards FOREIGN KEY(board_id) REFERENCES boards (id) ON DELETE CASCADE,
    CONSTRAINT fk_cards_owner_id_boards FOREIGN KEY(owner_id) REFERENCES boards (id),
    CONSTRAINT uq_cards_board_id_seen_at UNIQUE (board_id, seen_at) DEFERRABLE INITIALLY DEFERRED
);

CREATE INDEX ix_cards_board_id ON cards (board_id);

CREATE UNIQUE INDEX ix_cards_seen ON cards (seen_at) WHERE position > 0;

CREATE INDEX ix_cards_lower ON cards USING gin (lower(board_id::text));

CREATE UNIQUE INDEX uq_cards_board_created ON cards (board_id, created_at) NULLS NOT DISTINCT;
"""  # noqa: E501


def _sql(build: Callable[[Operations], None]) -> str:
    out = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql",
        opts={"as_sql": True, "output_buffer": out, "target_metadata": service_metadata()},
    )
    build(Operations(context))
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()).strip()


def test_what_the_helpers_create_is_what_applied_revisions_created() -> None:
    def build(op: Operations) -> None:
        op.create_table("boards", ddl.uuid_id(), *ddl.timestamps(), ddl.primary_key("boards"))
        op.create_table(
            "cards",
            sa.Column("board_id", sa.Uuid(), nullable=False),
            sa.Column("owner_id", sa.Uuid(), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            ddl.timestamp_now("seen_at"),
            ddl.created_at(),
            ddl.check("cards", "position_non_negative", "position >= 0"),
            ddl.foreign_key("cards", "board_id", "boards", ondelete="CASCADE"),
            ddl.foreign_key("cards", "owner_id", "boards"),
            ddl.primary_key("cards", "board_id", "position"),
            ddl.unique("cards", "board_id", "seen_at", deferrable=True, initially="DEFERRED"),
        )
        ddl.create_index(op, "ix_cards_board_id", "cards", ["board_id"])
        ddl.create_index(
            op, "ix_cards_seen", "cards", ["seen_at"], unique=True, where="position > 0"
        )
        ddl.create_index(
            op, "ix_cards_lower", "cards", [sa.text("lower(board_id::text)")], using="gin"
        )
        ddl.create_index(
            op,
            "uq_cards_board_created",
            "cards",
            ["board_id", "created_at"],
            unique=True,
            nulls_not_distinct=True,
        )

    assert _sql(build) == FROZEN.strip()


def test_a_name_postgresql_would_cut_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than"):
        ddl.unique("a_table_with_a_long_name", "a_column_with_a_long_name", "and_another_one")
