"""Boards and their columns. A new board gets To do, In progress, Done (the last ``is_done``).
Columns are densely ordered (``order`` 0..n-1); reordering locks the board row, so concurrent
column changes on one board serialize while other boards go on. A column that becomes (or stops
being) a done column takes its tasks with it (``tasks.tasks.completion``)."""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.errors import Conflict, Invalid, NotFound
from vc_common.pagination import PageParams

from tasks import events, ordering
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
from tasks.models import Board, Column
from tasks.tasks import completion
from tasks.tasks import repository as task_repo
from tasks.tasks.schemas import TaskRead

DEFAULT_COLUMNS = (("To do", False), ("In progress", False), ("Done", True))
BOARD_NOT_FOUND = "Board not found."
COLUMN_NOT_FOUND = "Column not found."


async def create_board(ctx: Context, team_id: uuid.UUID, data: BoardCreate) -> BoardDetail:
    """The new board as ``GET /boards/{id}`` reads it: with its default columns, empty."""
    await ctx.authorize(team_id, "board.manage")
    session, user = ctx.session, ctx.user
    board = Board(name=data.name, team_id=team_id, created_by_id=user.id)
    session.add(board)
    await session.flush()
    cols = [
        Column(board_id=board.id, name=name, order=i, is_done=done)
        for i, (name, done) in enumerate(DEFAULT_COLUMNS)
    ]
    session.add_all(cols)
    await session.flush()
    await events.board_created(session, board, cols, actor=user.id)
    return BoardDetail(
        **BoardRead.model_validate(board).model_dump(),
        columns=[
            ColumnWithTasks(**ColumnRead.model_validate(c).model_dump(), tasks=[]) for c in cols
        ],
    )


async def list_boards(
    ctx: Context, team_id: uuid.UUID, page: PageParams
) -> tuple[list[Board], str | None]:
    await ctx.authorize(team_id, "board.read")
    return await repo.page_of_team(ctx.session, team_id, page)


async def visible_board(ctx: Context, board_id: uuid.UUID, action: str = "board.read") -> Board:
    """The board if the actor may do ``action`` on it; 404 for a missing board and for one of
    a team the actor is not in, alike."""
    board = await repo.get(ctx.session, board_id)
    if board is None:
        raise NotFound(BOARD_NOT_FOUND)
    await ctx.authorize(board.team_id, action, not_found=BOARD_NOT_FOUND)
    return board


async def board_detail(ctx: Context, board_id: uuid.UUID) -> BoardDetail:
    """The whole board in a fixed number of statements: board, membership, columns, tasks with
    their subtask counts, their labels; however many columns and tasks there are."""
    board = await visible_board(ctx, board_id)
    cols = await repo.columns(ctx.session, board_id)
    tasks = await task_repo.of_board(ctx.session, board_id)
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


async def update_board(ctx: Context, board_id: uuid.UUID, data: BoardUpdate) -> Board:
    board = await visible_board(ctx, board_id, "board.manage")
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        if changes["name"] is None:
            raise Invalid("`name` cannot be null.", loc=["body", "name"])
        board.name = changes["name"]
        board.updated_at = ctx.now()
    await ctx.session.flush()
    return board


async def delete_board(ctx: Context, board_id: uuid.UUID) -> None:
    board = await visible_board(ctx, board_id, "board.manage")
    await repo.delete_board(ctx.session, board.id)


async def forget_team(ctx: Context, team_id: uuid.UUID) -> int:
    """A deleted team's boards and all on them (``teams.team.deleted``); how many there were."""
    return await repo.delete_of_team(ctx.session, team_id)


# ------------------------------------------------------------------------------------ columns


async def visible_column(
    ctx: Context, column_id: uuid.UUID, action: str = "board.read"
) -> tuple[Column, Board]:
    found = await repo.column_with_board(ctx.session, column_id)
    if found is None:
        raise NotFound(COLUMN_NOT_FOUND)
    await ctx.authorize(found[1].team_id, action, not_found=COLUMN_NOT_FOUND)
    return found


async def _reorder(ctx: Context, board_id: uuid.UUID, column_id: uuid.UUID, index: int) -> None:
    cols = await repo.columns(ctx.session, board_id)
    new = ordering.insert_at([c.id for c in cols], column_id, index)
    await repo.set_orders(ctx.session, ordering.changes(new, {c.id: c.order for c in cols}))


async def create_column(ctx: Context, board_id: uuid.UUID, data: ColumnCreate) -> Column:
    board = await visible_board(ctx, board_id, "board.manage")
    session = ctx.session
    if await repo.get(session, board.id, lock=True) is None:  # serialize column changes
        raise NotFound(BOARD_NOT_FOUND)
    count = await repo.count_columns(session, board.id)
    column = Column(board_id=board.id, name=data.name, order=count, is_done=data.is_done)
    session.add(column)
    await session.flush()
    if data.order is not None and data.order < count:
        await _reorder(ctx, board.id, column.id, data.order)
    await session.refresh(column)
    return column


async def get_column(ctx: Context, column_id: uuid.UUID) -> Column:
    column, _ = await visible_column(ctx, column_id)
    return column


async def update_column(ctx: Context, column_id: uuid.UUID, data: ColumnUpdate) -> Column:
    column, board = await visible_column(ctx, column_id, "board.manage")
    session = ctx.session
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "order", "is_done"):
        if field in changes and changes[field] is None:
            raise Invalid(f"`{field}` cannot be null.", loc=["body", field])
    if "order" in changes:
        await repo.get(session, board.id, lock=True)
        await _reorder(ctx, board.id, column.id, changes["order"])
    if "name" in changes:
        column.name = changes["name"]
    if "is_done" in changes and changes["is_done"] != column.is_done:
        # the column's tasks follow it: all complete (or reopen) with their events
        [column] = await repo.lock_columns(session, {column.id})
        column.is_done = changes["is_done"]
        await completion.follow_column(ctx, column)
    await session.flush()
    await session.refresh(column)
    return column


async def delete_column(ctx: Context, column_id: uuid.UUID) -> None:
    column, board = await visible_column(ctx, column_id, "board.manage")
    session = ctx.session
    await repo.get(session, board.id, lock=True)
    await repo.lock_columns(session, {column.id})
    if await task_repo.any_in_column(session, column.id):
        raise Conflict("The column still holds tasks; move or delete them first.")
    await repo.delete_column(session, column.id)
    cols = await repo.columns(session, board.id)
    await repo.set_orders(
        session, ordering.changes([c.id for c in cols], {c.id: c.order for c in cols})
    )
