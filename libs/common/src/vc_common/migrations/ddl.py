"""The columns, constraints and indexes Alembic's autogenerate writes out again for every table,
written once for the services' revisions::

    from vc_common.migrations import ddl

    op.create_table(
        "subtasks",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.foreign_key("subtasks", "task_id", "tasks", ondelete="CASCADE"),
        ddl.primary_key("subtasks"),
    )
    ddl.create_index(op, "ix_subtasks_open", "subtasks", ["task_id"], where="NOT is_completed")

and in ``downgrade()`` only ``op.drop_index("ix_subtasks_open", table_name="subtasks")``: what
made the index (its ``WHERE``, its method) is not part of ``DROP INDEX``. A revision still writes
what is its tables' own (their columns, the check constraints' conditions); autogenerate writes
these calls itself where a column or constraint is one of theirs
(:mod:`vc_common.migrations.render`).

**Frozen.** What these functions return or do is part of the history of every applied revision
that calls them: a changed function would change what an old revision creates, so that a
database built from scratch would no longer be the one migrated before the change (nor the one
its revision's text promises). Never change one; add a new function (``created_at_v2``, say) for
a new shape, and keep the old one as long as a revision calls it.

The columns are the ones :mod:`vc_common.models` declares (``UUIDMixin``, ``CreatedAtMixin``,
``TimestampMixin``), as autogenerate renders them. The constraint names are the ones the naming
convention (``vc_common.models.NAMING_CONVENTION``) gives, marked as already converted like
``op.f(...)`` marks them, so that Alembic creates them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.naming import conv

# PostgreSQL cuts a longer identifier, where the naming convention would shorten it its own way
MAX_NAME = 63


def _name(name: str) -> conv:
    if len(name) > MAX_NAME:
        raise ValueError(f"{name!r} is longer than PostgreSQL's {MAX_NAME} characters: name it")
    return conv(name)


def timestamp_now(name: str) -> sa.Column[Any]:
    """A ``timestamptz NOT NULL DEFAULT now()`` column named ``name``."""
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def created_at() -> sa.Column[Any]:
    """``CreatedAtMixin.created_at``."""
    return timestamp_now("created_at")


def updated_at() -> sa.Column[Any]:
    """``TimestampMixin.updated_at`` (its ``onupdate`` is the ORM's, not the database's)."""
    return timestamp_now("updated_at")


def timestamps() -> tuple[sa.Column[Any], sa.Column[Any]]:
    """``TimestampMixin``'s two columns, in the order a model's table has them: ``updated_at``,
    then ``created_at``."""
    return updated_at(), created_at()


def uuid_id() -> sa.Column[Any]:
    """``UUIDMixin.id`` (the key itself is :func:`primary_key`'s; the UUIDv7 default is the
    ORM's)."""
    return sa.Column("id", sa.Uuid(), nullable=False)


def primary_key(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    """``pk_<table>`` on ``columns`` (``id`` when none are given)."""
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=_name(f"pk_{table}"))


def foreign_key(
    table: str,
    column: str,
    target_table: str,
    target_column: str = "id",
    *,
    ondelete: str | None = None,
) -> sa.ForeignKeyConstraint:
    """``fk_<table>_<column>_<target_table>``: ``table.column`` references
    ``target_table.target_column``."""
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target_table}.{target_column}"],
        name=_name(f"fk_{table}_{column}_{target_table}"),
        ondelete=ondelete,
    )


def unique(
    table: str,
    *columns: str,
    deferrable: bool | None = None,
    initially: str | None = None,
) -> sa.UniqueConstraint:
    """``uq_<table>_<column>_<column>…`` on ``columns``, optionally deferrable (``initially``
    ``"DEFERRED"``)."""
    return sa.UniqueConstraint(
        *columns,
        deferrable=deferrable,
        initially=initially,
        name=_name(f"uq_{table}_{'_'.join(columns)}"),
    )


def check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    """``ck_<table>_<name>``: ``CHECK (condition)``."""
    return sa.CheckConstraint(condition, name=_name(f"ck_{table}_{name}"))


def create_index(
    op: Any,
    name: str,
    table: str,
    columns: Sequence[str | sa.ColumnElement[Any] | sa.TextClause],
    *,
    unique: bool = False,
    where: str | None = None,
    using: str | None = None,
    nulls_not_distinct: bool | None = None,
) -> None:
    """``op.create_index(name, table, columns, unique=...)``, with PostgreSQL's options by name:
    ``where`` (the predicate of a partial index), ``using`` (the method: ``"gin"``) and
    ``nulls_not_distinct`` (a unique index where NULLs are equal, PostgreSQL 15+). The name is
    used as it is: the naming convention leaves an index's given name alone."""
    options: dict[str, Any] = {}
    if where is not None:
        options["postgresql_where"] = sa.text(where)
    if using is not None:
        options["postgresql_using"] = using
    if nulls_not_distinct is not None:
        options["postgresql_nulls_not_distinct"] = nulls_not_distinct
    op.create_index(name, table, list(columns), unique=unique, **options)
