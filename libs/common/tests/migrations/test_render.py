"""Autogenerate spells columns and constraints with the ddl helpers (so a new revision does not
bring back the blocks they write once), and the spelling creates exactly what Alembic's own
would: both renderings of the same models, run, compile to the same DDL."""

from __future__ import annotations

import textwrap
import uuid
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import ops
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.naming import conv
from vc_common.migrations import ddl
from vc_common.migrations.render import IMPORT, render_item
from vc_common.models import CreatedAtMixin, TimestampMixin, UUIDMixin, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Board(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "boards"
    name: Mapped[str] = mapped_column(sa.String(100))


class Card(UUIDMixin, CreatedAtMixin, Base):
    __tablename__ = "cards"
    board_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("boards.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("boards.id"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("cards.id", onupdate="CASCADE")
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    seen_at: Mapped[Any] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )
    __table_args__ = (
        sa.UniqueConstraint("board_id", "position", deferrable=True, initially="DEFERRED"),
        sa.CheckConstraint("position >= 0", name="position_non_negative"),
    )


class _Recorder:
    """Stands in for ``op`` while a rendered upgrade runs: collects the tables it creates."""

    def __init__(self) -> None:
        self.metadata = sa.MetaData()

    def f(self, name: str) -> conv:
        return conv(name)

    def create_table(self, name: str, *args: Any, **kw: Any) -> None:
        sa.Table(name, self.metadata, *args, **kw)


def _render(hook: bool) -> tuple[str, set[str]]:
    """The upgrade autogenerate writes for the models above; and the imports the hook asked
    for (render_python_code copies its ``imports``, so they are read off the context)."""
    upgrade = ops.UpgradeOps(
        ops=[ops.CreateTableOp.from_table(t) for t in Base.metadata.sorted_tables]
    )
    imports: set[str] = set()

    def hook_item(type_: str, obj: Any, autogen_context: Any) -> Any:
        rendered = render_item(type_, obj, autogen_context)
        imports.update(autogen_context.imports)
        return rendered

    code = render_python_code(upgrade, render_item=hook_item if hook else None)
    lines = [line for line in code.splitlines() if not line.lstrip().startswith("#")]
    return textwrap.dedent("\n".join(lines)), imports


def _ddl(code: str) -> list[tuple[list[str], set[str]]]:
    """Each created table's columns in order, and its constraints (Alembic sorts those by how
    they are spelled, and their order means nothing to PostgreSQL)."""
    op = _Recorder()
    exec(code, {"op": op, "sa": sa, "ddl": ddl, "postgresql": postgresql})
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    tables = []
    for table in op.metadata.sorted_tables:
        lines = [
            line.strip().rstrip(",")
            for line in str(CreateTable(table).compile(dialect=dialect)).splitlines()
        ]
        parts = [line for line in lines if line and line not in ("(", ")")]
        tables.append(
            (
                [line for line in parts if not line.startswith("CONSTRAINT")],
                {line for line in parts if line.startswith("CONSTRAINT")},
            )
        )
    return tables


def test_autogenerate_writes_the_helpers_and_the_same_ddl() -> None:
    plain, _ = _render(hook=False)
    short, imports = _render(hook=True)
    assert IMPORT in imports
    for call in (
        "ddl.uuid_id()",
        "ddl.updated_at()",
        "ddl.created_at()",
        "ddl.timestamp_now('seen_at')",
        "ddl.primary_key('boards')",
        "ddl.foreign_key('cards', 'board_id', 'boards', ondelete='CASCADE')",
        "ddl.foreign_key('cards', 'owner_id', 'boards')",
        "ddl.unique('cards', 'board_id', 'position', deferrable=True, initially='DEFERRED')",
    ):
        assert call in short, call
    # what has no helper keeps Alembic's spelling: an ON UPDATE key, a check, a plain column
    assert "onupdate='CASCADE'" in short
    assert "sa.CheckConstraint" in short
    assert "sa.Column('name', sa.String(length=100), nullable=False)" in short
    assert "sa.Column('created_at'" not in short
    assert _ddl(short) == _ddl(plain)
    assert len(short) < len(plain) * 0.8
