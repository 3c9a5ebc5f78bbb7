"""A column's tasks in order: ``position`` is dense (0..n-1) inside a column.

Whatever changes a column's sequence (create, move, delete) first locks the column rows it
touches, in one fixed order (by id), then re-reads the task under that lock and renumbers the
affected columns densely in one UPDATE each. Two concurrent moves therefore serialize per column
and never deadlock; and if the task left its column between the first read and the lock (someone
else moved it), the savepoint is rolled back (which releases the locks) and the work is retried
with the new column. A position past the end means last.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.errors import Conflict, NotFound

from tasks import ordering
from tasks.boards import repository as board_repo
from tasks.models import Column, Task
from tasks.tasks import repository as repo

T = TypeVar("T")
MOVE_ATTEMPTS = 5


class _TaskMovedMeanwhile(Exception):
    pass


async def under_column_locks(
    session: AsyncSession,
    task: Task,
    also: set[uuid.UUID],
    work: Callable[[Task, dict[uuid.UUID, Column]], Awaitable[T]],
) -> T:
    """Run ``work(locked_task, locked_columns)`` holding the locks of the task's column and of
    ``also``, taken in id order; retried when the task changed column before the lock."""
    column_id = task.column_id
    for _ in range(MOVE_ATTEMPTS):
        try:
            async with session.begin_nested():
                cols = await board_repo.lock_columns(session, {column_id, *also})
                locked = {c.id: c for c in cols}
                fresh = await repo.lock(session, task.id)
                if fresh is None:
                    raise NotFound("Task not found.")
                if fresh.column_id not in locked:
                    column_id = fresh.column_id
                    raise _TaskMovedMeanwhile
                if not also <= locked.keys():
                    raise NotFound("Column not found.")
                return await work(fresh, locked)
        except _TaskMovedMeanwhile:
            continue
    raise Conflict("The task keeps moving; reload the board and try again.")


async def make_room(
    session: AsyncSession,
    column_id: uuid.UUID,
    task_id: uuid.UUID,
    index: int | None,
    current: Mapping[uuid.UUID, int] | None = None,
) -> int:
    """Renumber the column's tasks so that ``task_id`` (in the column, or entering it) sits at
    ``index`` (``None``: last); returns that position, which the caller writes on the task.
    ``current``: the column's positions when the caller has just read them."""
    if current is None:
        current = dict(await repo.positions(session, column_id))
    new = ordering.insert_at(list(current), task_id, index)
    position = new.index(task_id)
    await repo.set_positions(session, ordering.changes(new, {**current, task_id: position}))
    return position


async def close_gap(
    session: AsyncSession, column_id: uuid.UUID, *, leaving: uuid.UUID | None = None
) -> None:
    """Renumber the column's tasks densely without ``leaving`` (a task on its way out)."""
    current = dict(await repo.positions(session, column_id))
    await repo.set_positions(
        session, ordering.changes([i for i in current if i != leaving], current)
    )
