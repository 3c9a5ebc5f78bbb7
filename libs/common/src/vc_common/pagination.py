"""Cursor pagination: ``?limit=`` (default 50, max 200) and an opaque ``?cursor=``; answers
``{"items": [...], "next_cursor": "<opaque>" | null}``. Keyset-based, so pages stay stable while
rows are added, and cost the same on page 1 and page 1,000."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from vc_common.errors import Invalid

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Page size (1 to 200)")] = 50,
    cursor: Annotated[str | None, Query(description="Opaque cursor from `next_cursor`")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([str(v) if not isinstance(v, (int, float, str)) else v for v in values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise Invalid("The cursor is not valid.", loc=["query", "cursor"]) from exc
    if not isinstance(values, list) or len(values) != size:
        raise Invalid("The cursor is not valid.", loc=["query", "cursor"])
    return values


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    *,
    keys: Sequence[InstrumentedAttribute[Any]],
    descending: bool = False,
    convert: Sequence[Callable[[Any], Any]] | None = None,
) -> tuple[list[Any], str | None]:
    """Run ``stmt`` one page at a time, ordered by ``keys`` (the last must be unique).

    Returns the rows (scalars when the statement selects one entity) and the next cursor.
    ``convert`` turns each decoded cursor value back into the column's type.
    """
    if params.cursor:
        raw = decode_cursor(params.cursor, len(keys))
        try:
            vals = [c(v) for c, v in zip(convert, raw, strict=True)] if convert else raw
        except (TypeError, ValueError) as exc:
            raise Invalid("The cursor is not valid.", loc=["query", "cursor"]) from exc
        # (k1, k2, ...) > (v1, v2, ...) expanded so every database plans it well
        clauses = []
        for i, key in enumerate(keys):
            eqs = [keys[j] == vals[j] for j in range(i)]
            cmp = key < vals[i] if descending else key > vals[i]
            clauses.append(and_(*eqs, cmp))
        stmt = stmt.where(or_(*clauses))
    order = [k.desc() if descending else k.asc() for k in keys]
    stmt = stmt.order_by(*order).limit(params.limit + 1)
    result = await session.execute(stmt)
    rows = (
        list(result.scalars().all()) if len(stmt.column_descriptions) == 1 else list(result.all())
    )
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, k.key) for k in keys])
    return rows, next_cursor
