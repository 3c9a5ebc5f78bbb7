"""All SQL about subtasks."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.pagination import PageParams, paginate

from tasks.cursors import parse_timestamp
from tasks.models import Subtask, Task


async def of_task(session: AsyncSession, task_id: uuid.UUID) -> list[Subtask]:
    return list(
        (
            await session.execute(
                select(Subtask)
                .where(Subtask.task_id == task_id)
                .order_by(Subtask.created_at, Subtask.id)
            )
        ).scalars()
    )


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
