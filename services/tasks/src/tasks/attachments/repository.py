"""All SQL about attachments (metadata: a URL and a file name) and the team files they may name
(``known_files``, a projection of the files service's events)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.db import Prepared
from vc_common.pagination import PageParams, paginate

from tasks.attachments.schemas import AttachmentRead
from tasks.cursors import parse_timestamp
from tasks.models import KnownFile, Task, TaskAttachment

_a = TaskAttachment.__table__
_of_task = Prepared(
    select(_a).where(_a.c.task_id == bindparam("task_id")).order_by(_a.c.created_at, _a.c.id)
)


async def of_task(session: AsyncSession, task_id: uuid.UUID) -> list[AttachmentRead]:
    """A task's attachments, oldest first (a task's answer: prepared, see ``vc_common.db``)."""
    # the columns are the answer's fields (what the table has beyond them is ignored)
    return [AttachmentRead(**r) for r in await _of_task.all(session, task_id=task_id)]


async def page_of_task(
    session: AsyncSession, task_id: uuid.UUID, params: PageParams
) -> tuple[list[TaskAttachment], str | None]:
    return await paginate(
        session,
        select(TaskAttachment).where(TaskAttachment.task_id == task_id),
        params,
        keys=[TaskAttachment.created_at, TaskAttachment.id],
        convert=[parse_timestamp, uuid.UUID],
    )


async def with_task(
    session: AsyncSession, attachment_id: uuid.UUID, task_id: uuid.UUID
) -> tuple[TaskAttachment, Task] | None:
    """The attachment if it is one of ``task_id``'s, with its task."""
    row = (
        await session.execute(
            select(TaskAttachment, Task)
            .join(Task, Task.id == TaskAttachment.task_id)
            .where(TaskAttachment.id == attachment_id, Task.id == task_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def known_file(session: AsyncSession, file_id: uuid.UUID) -> KnownFile | None:
    return await session.get(KnownFile, file_id)


async def learn_file(session: AsyncSession, values: dict[str, Any]) -> None:
    """A file the files service stored (a replay or a late copy changes nothing)."""
    await session.execute(pg_insert(KnownFile).values(**values).on_conflict_do_nothing())


async def forget_file(session: AsyncSession, values: dict[str, Any], at: datetime) -> None:
    """A tombstone (``deleted_at``), so a late ``uploaded`` never brings the file back."""
    stmt = pg_insert(KnownFile).values(**values, deleted_at=at)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[KnownFile.file_id], set_={"deleted_at": at})
    )


async def detach_file(
    session: AsyncSession, file_id: uuid.UUID
) -> list[tuple[TaskAttachment, Task]]:
    """Remove every attachment of the file; the removed ones with their tasks."""
    rows = (
        await session.execute(
            select(TaskAttachment, Task)
            .join(Task, Task.id == TaskAttachment.task_id)
            .where(TaskAttachment.file_id == file_id)
            .order_by(TaskAttachment.id)
        )
    ).all()
    await session.execute(delete(TaskAttachment).where(TaskAttachment.file_id == file_id))
    return [(r[0], r[1]) for r in rows]
