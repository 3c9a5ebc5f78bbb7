from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tasks.models import Board, Column


async def get(session: AsyncSession, board_id: uuid.UUID, *, lock: bool = False) -> Board | None:
    stmt = select(Board).where(Board.id == board_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


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
