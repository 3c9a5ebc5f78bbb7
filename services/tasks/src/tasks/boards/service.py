"""Boards and their columns. A new board gets To do, In progress, Done (the last ``is_done``).
Columns are densely ordered (``order`` 0..n-1); reordering locks the board row, so concurrent
column changes on one board serialize while other boards go on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser
from vc_common.errors import Conflict, Invalid, NotFound

from tasks import access, events, ordering
from tasks.boards import repository as repo
from tasks.boards.schemas import (
    BoardCreate,
    BoardDetail,
    BoardRead,
    BoardUpdate,
    ColumnCreate,
    ColumnRead,
    ColumnUpdate,
    ColumnWithTasks,
)
from tasks.models import Board, Column, Task
from tasks.tasks import repository as task_repo
from tasks.tasks.schemas import TaskRead

DEFAULT_COLUMNS = (("To do", False), ("In progress", False), ("Done", True))


async def create_board(
    session: AsyncSession, team_id: uuid.UUID, user: AuthUser, data: BoardCreate
) -> Board:
    board = Board(name=data.name, team_id=team_id, created_by_id=user.id)
    session.add(board)
    await session.flush()
    cols = [
        Column(board_id=board.id, name=name, order=i, is_done=done)
        for i, (name, done) in enumerate(DEFAULT_COLUMNS)
    ]
    session.add_all(cols)
    await session.flush()
    await events.publish(
        session,
        events.BOARD_CREATED,
        board.id,
        {
            "board_id": board.id,
            "team_id": team_id,
            "user_id": user.id,
            "name": board.name,
            "columns": [
                {"column_id": c.id, "name": c.name, "order": c.order, "is_done": c.is_done}
                for c in cols
            ],
            "created_at": board.created_at,
        },
    )
    return board


async def visible_board(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    board_id: uuid.UUID,
    min_role: str = access.MEMBER,
    *,
    lock: bool = False,
) -> Board:
    board = await repo.get(session, board_id)
    if board is None:
        raise NotFound("Board not found.")
    await access.authorize(session, request, board.team_id, user, min_role)
    if lock:
        board = await repo.get(session, board_id, lock=True)
        if board is None:
            raise NotFound("Board not found.")
    return board


async def board_detail(
    session: AsyncSession, request: Request, user: AuthUser, board_id: uuid.UUID
) -> BoardDetail:
    """The whole board in a fixed number of statements: board, membership, columns, tasks with
    their subtask counts, their labels; however many columns and tasks there are."""
    board = await visible_board(session, request, user, board_id)
    cols = await repo.columns(session, board_id)
    tasks = await task_repo.of_board(session, board_id)
    by_column: dict[uuid.UUID, list[TaskRead]] = {c.id: [] for c in cols}
    for t in tasks:
        by_column.setdefault(t.column_id, []).append(t)
    return BoardDetail(
        **BoardRead.model_validate(board).model_dump(),
        columns=[
            ColumnWithTasks(**ColumnRead.model_validate(c).model_dump(), tasks=by_column[c.id])
            for c in cols
        ],
    )


async def update_board(session: AsyncSession, board: Board, data: BoardUpdate) -> Board:
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        if changes["name"] is None:
            raise Invalid("`name` cannot be null.", loc=["body", "name"])
        board.name = changes["name"]
        board.updated_at = datetime.now(UTC)
    await session.flush()
    return board


async def delete_board(session: AsyncSession, board: Board) -> None:
    # columns, tasks and everything under them go by ON DELETE CASCADE
    await session.execute(sql_delete(Board).where(Board.id == board.id))


# ------------------------------------------------------------------------------------ columns


async def visible_column(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    column_id: uuid.UUID,
    min_role: str = access.MEMBER,
) -> tuple[Column, Board]:
    found = await repo.column_with_board(session, column_id)
    if found is None:
        raise NotFound("Column not found.")
    await access.authorize(session, request, found[1].team_id, user, min_role)
    return found


async def _reorder(
    session: AsyncSession, board_id: uuid.UUID, column_id: uuid.UUID, index: int | None
) -> None:
    cols = await repo.columns(session, board_id)
    current = {c.id: c.order for c in cols}
    new = ordering.insert_at([c.id for c in cols], column_id, index)
    await ordering.renumber(session, Column, Column.order, new, current)


async def create_column(
    session: AsyncSession, board: Board, user: AuthUser, data: ColumnCreate
) -> Column:
    del user
    locked = await repo.get(session, board.id, lock=True)  # serialize column changes per board
    if locked is None:
        raise NotFound("Board not found.")
    count = int(
        (
            await session.execute(select(func.count(Column.id)).where(Column.board_id == board.id))
        ).scalar_one()
    )
    column = Column(board_id=board.id, name=data.name, order=count, is_done=data.is_done)
    session.add(column)
    await session.flush()
    if data.order is not None and data.order < count:
        await _reorder(session, board.id, column.id, data.order)
    await session.refresh(column)
    return column


async def update_column(
    session: AsyncSession, column: Column, board: Board, user: AuthUser, data: ColumnUpdate
) -> Column:
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "order", "is_done"):
        if field in changes and changes[field] is None:
            raise Invalid(f"`{field}` cannot be null.", loc=["body", field])
    if "order" in changes:
        await repo.get(session, board.id, lock=True)
        await _reorder(session, board.id, column.id, changes["order"])
    if "name" in changes:
        column.name = changes["name"]
    if "is_done" in changes and changes["is_done"] != column.is_done:
        # the column's tasks follow it: all complete (or reopen) with their events
        locked = await task_repo.lock_columns(session, {column.id})
        column = locked[0]
        column.is_done = changes["is_done"]
        await _set_done_for_column(session, column, board, user)
    await session.flush()
    await session.refresh(column)
    return column


async def _set_done_for_column(
    session: AsyncSession, column: Column, board: Board, user: AuthUser
) -> None:
    from tasks.tasks.service import emit_completion  # the completion rule lives with tasks

    now = datetime.now(UTC)
    rows = list(
        (
            await session.execute(
                select(Task)
                .where(
                    Task.column_id == column.id,
                    Task.completed_at.is_(None)
                    if column.is_done
                    else Task.completed_at.is_not(None),
                )
                .order_by(Task.position)
            )
        ).scalars()
    )
    for task in rows:
        before = task.completed_at
        await session.execute(
            update(Task)
            .where(Task.id == task.id)
            .values(
                completed_at=now if column.is_done else None,
                version=Task.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        task.completed_at = now if column.is_done else None
        await emit_completion(session, task, user.id, before, board_id=board.id)


async def delete_column(session: AsyncSession, column: Column, board: Board) -> None:
    await repo.get(session, board.id, lock=True)
    await task_repo.lock_columns(session, {column.id})
    has_tasks = (
        await session.execute(select(Task.id).where(Task.column_id == column.id).limit(1))
    ).first()
    if has_tasks is not None:
        raise Conflict("The column still holds tasks; move or delete them first.")
    await session.execute(sql_delete(Column).where(Column.id == column.id))
    cols = await repo.columns(session, board.id)
    await ordering.renumber(
        session, Column, Column.order, [c.id for c in cols], {c.id: c.order for c in cols}
    )
