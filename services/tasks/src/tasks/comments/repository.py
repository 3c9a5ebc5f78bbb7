"""All SQL about comments."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.pagination import PageParams, paginate

from tasks.cursors import parse_timestamp
from tasks.models import Task, TaskComment


async def page_of_task(
    session: AsyncSession, task_id: uuid.UUID, params: PageParams
) -> tuple[list[TaskComment], str | None]:
    """The task's comments, oldest first."""
    return await paginate(
        session,
        select(TaskComment).where(TaskComment.task_id == task_id),
        params,
        keys=[TaskComment.created_at, TaskComment.id],
        convert=[parse_timestamp, uuid.UUID],
    )


async def with_task(
    session: AsyncSession, comment_id: uuid.UUID
) -> tuple[TaskComment, Task] | None:
    row = (
        await session.execute(
            select(TaskComment, Task)
            .join(Task, Task.id == TaskComment.task_id)
            .where(TaskComment.id == comment_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None
