"""All SQL about subtasks."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.db import Prepared
from vc_common.pagination import PageParams, paginate

from tasks.cursors import parse_timestamp
from tasks.models import Subtask, Task
from tasks.subtasks.schemas import SubtaskRead

_s = Subtask.__table__
_of_task = Prepared(
    select(_s).where(_s.c.task_id == bindparam("task_id")).order_by(_s.c.created_at, _s.c.id)
)


async def of_task(session: AsyncSession, task_id: uuid.UUID) -> list[SubtaskRead]:
    """A task's subtasks, oldest first (a task's answer: prepared, see ``vc_common.db``)."""
    # the columns are the answer's fields (what the table has beyond them is ignored)
    return [SubtaskRead(**r) for r in await _of_task.all(session, task_id=task_id)]


async def page_of_task(
    session: AsyncSession, task_id: uuid.UUID, params: PageParams
) -> tuple[list[Subtask], str | None]:
    return await paginate(
        session,
        select(Subtask).where(Subtask.task_id == task_id),
        params,
        keys=[Subtask.created_at, Subtask.id],
        convert=[parse_timestamp, uuid.UUID],
    )


async def with_task(session: AsyncSession, subtask_id: uuid.UUID) -> tuple[Subtask, Task] | None:
    row = (
        await session.execute(
            select(Subtask, Task)
            .join(Task, Task.id == Subtask.task_id)
            .where(Subtask.id == subtask_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None
