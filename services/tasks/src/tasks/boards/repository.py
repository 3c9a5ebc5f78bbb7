"""All SQL about boards and their columns."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Integer,
    Uuid,
    any_,
    bindparam,
    column,
    delete,
    func,
    select,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.db import PreparedWrite
from vc_common.pagination import PageParams, paginate

from tasks.cursors import parse_timestamp
from tasks.models import Board, Column


async def get(session: AsyncSession, board_id: uuid.UUID, *, lock: bool = False) -> Board | None:
    """The board; ``lock``: its row ``FOR UPDATE``, which serializes changes of its columns."""
    stmt = select(Board).where(Board.id == board_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def page_of_team(
    session: AsyncSession, team_id: uuid.UUID, params: PageParams
) -> tuple[list[Board], str | None]:
    """The team's boards, oldest first."""
    return await paginate(
        session,
        select(Board).where(Board.team_id == team_id),
        params,
        keys=[Board.created_at, Board.id],
        convert=[parse_timestamp, uuid.UUID],
    )


async def delete_board(session: AsyncSession, board_id: uuid.UUID) -> None:
    # columns, tasks and everything under them go by ON DELETE CASCADE
    await session.execute(delete(Board).where(Board.id == board_id))


async def delete_of_team(session: AsyncSession, team_id: uuid.UUID) -> int:
    result = await session.execute(delete(Board).where(Board.team_id == team_id))
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------------------------ columns


async def columns(session: AsyncSession, board_id: uuid.UUID) -> list[Column]:
    return list(
        (
            await session.execute(
                select(Column)
                .where(Column.board_id == board_id)
                .order_by(Column.order, Column.id)
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )


async def count_columns(session: AsyncSession, board_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(select(func.count(Column.id)).where(Column.board_id == board_id))
        ).scalar_one()
    )


async def get_column(session: AsyncSession, column_id: uuid.UUID) -> Column | None:
    return await session.get(Column, column_id)


async def column_with_board(
    session: AsyncSession, column_id: uuid.UUID
) -> tuple[Column, Board] | None:
    row = (
        await session.execute(
            select(Column, Board)
            .join(Board, Board.id == Column.board_id)
            .where(Column.id == column_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def lock_columns(session: AsyncSession, column_ids: set[uuid.UUID]) -> list[Column]:
    """Lock the given columns in one fixed order (by id) so two movers never deadlock."""
    return list(
        (
            await session.execute(
                select(Column)
                .where(Column.id.in_(column_ids))
                .order_by(Column.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )


_c = Column.__table__
_lock_columns_by_id = PreparedWrite(
    select(_c.c.id, _c.c.board_id, _c.c.is_done)
    .where(_c.c.id == any_(bindparam("ids", type_=ARRAY(Uuid))))
    .order_by(_c.c.id)
    .with_for_update()
)


async def lock_column_rows(
    session: AsyncSession, column_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The columns' ``id``, ``board_id`` and ``is_done`` by id, their rows locked ``FOR UPDATE``
    until commit in id order (the order every lock of several columns takes: two movers never
    deadlock); records, not ORM objects. A column that does not exist is not in the answer."""
    rows = await _lock_columns_by_id.all(session, ids=sorted(column_ids))
    return {r["id"]: r for r in rows}


async def set_orders(session: AsyncSession, changed: Sequence[tuple[uuid.UUID, int]]) -> None:
    """Write ``(column id, order)`` pairs in one ``UPDATE ... FROM (VALUES ...)``."""
    if not changed:
        return
    v = values(column("vid", Uuid), column("vorder", Integer), name="v").data(list(changed))
    await session.execute(
        update(Column)
        .where(Column.id == v.c.vid)
        .values(order=v.c.vorder)
        .execution_options(synchronize_session=False)
    )


async def delete_column(session: AsyncSession, column_id: uuid.UUID) -> None:
    await session.execute(delete(Column).where(Column.id == column_id))
