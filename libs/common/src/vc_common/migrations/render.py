"""Autogenerate writes :mod:`vc_common.migrations.ddl`'s calls instead of the long forms.

``alembic revision --autogenerate`` renders every column and constraint in full; without this
hook a new revision would bring back the blocks :mod:`~vc_common.migrations.ddl` writes once.
:func:`render_item` (given to ``context.configure`` by :func:`~vc_common.migrations.run_migrations`)
renders a column or constraint as the ddl call that builds exactly it, and leaves everything
else to Alembic: it only ever chooses the shorter spelling of the same DDL.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from vc_common.migrations import ddl

IMPORT = "from vc_common.migrations import ddl"


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Alembic's ``render_item`` hook: the ddl call for ``obj``, or False (Alembic's own)."""
    text = as_ddl(type_, obj)
    if text is None:
        return False
    autogen_context.imports.add(IMPORT)
    return text


def as_ddl(type_: str, obj: Any) -> str | None:
    """The ddl call that makes exactly ``obj``, when there is one."""
    if type_ == "column":
        return _column(obj)
    table = getattr(getattr(obj, "table", None), "name", None)
    if table is None or not isinstance(obj.name, str):
        return None
    name = str(obj.name)
    if type_ == "primary_key":
        cols = [c.name for c in obj.columns]
        if name != f"pk_{table}":
            return None
        return _call("primary_key", table, *([] if cols == ["id"] else cols))
    if type_ == "foreign_key":
        return _foreign_key(obj, table, name)
    if type_ == "unique":
        cols = [c.name for c in obj.columns]
        if name != f"uq_{table}_{'_'.join(cols)}":
            return None
        kw = {"deferrable": obj.deferrable, "initially": obj.initially}
        return _call("unique", table, *cols, **{k: v for k, v in kw.items() if v is not None})
    return None


def _column(col: sa.Column[Any]) -> str | None:
    if _same_column(col, ddl.uuid_id()):
        return "ddl.uuid_id()"
    if _same_column(col, ddl.timestamp_now(col.name)):
        if col.name in ("created_at", "updated_at"):
            return f"ddl.{col.name}()"
        return _call("timestamp_now", col.name)
    return None


def _same_column(a: sa.Column[Any], b: sa.Column[Any]) -> bool:
    def default(c: sa.Column[Any]) -> str | None:
        arg = getattr(c.server_default, "arg", None)
        return None if arg is None else str(getattr(arg, "text", arg))

    return (
        a.name == b.name
        and type(a.type) is type(b.type)
        and getattr(a.type, "timezone", None) == getattr(b.type, "timezone", None)
        and bool(a.nullable) == bool(b.nullable)
        and default(a) == default(b)
        and a.comment is None
        and a.computed is None
        and a.identity is None
    )


def _foreign_key(fk: sa.ForeignKeyConstraint, table: str, name: str) -> str | None:
    elements = list(fk.elements)
    if len(elements) != 1 or fk.onupdate or fk.deferrable or fk.initially or fk.use_alter:
        return None
    element = elements[0]
    column = element.parent.name
    target_table, _, target_column = element.target_fullname.rpartition(".")
    target_table = target_table.rpartition(".")[2]  # no schema: the services use one each
    if fk.match or name != f"fk_{table}_{column}_{target_table}":
        return None
    args: list[str] = [table, column, target_table]
    if target_column != "id":
        args.append(target_column)
    kw = {"ondelete": fk.ondelete} if fk.ondelete else {}
    return _call("foreign_key", *args, **kw)


def _call(fn: str, *args: object, **kw: object) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kw.items()]
    return f"ddl.{fn}({', '.join(parts)})"
