"""SQL of the task-deadline and meeting projections."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from vc_calendar.models import ImportedEvent, MeetingItem, TaskDeadline

# column -> its array type: one statement text whatever the number of tasks (a multi-row VALUES
# of n rows was a new statement for every n: compiled again for most batches, ~half of the
# consumer's SQLAlchemy time)
_DEADLINE_COLUMNS = {
    "task_id": "uuid",
    "team_id": "uuid",
    "board_id": "uuid",
    "title": "varchar",
    "assignee_id": "uuid",
    "due_date": "date",
    "is_completed": "boolean",
    "deleted": "boolean",
    "source_time": "timestamptz",
    "completion_time": "timestamptz",
}
_INSERT_DEADLINES = text(
    f"INSERT INTO task_deadlines ({', '.join(_DEADLINE_COLUMNS)}) "
    "SELECT * FROM unnest("
    + ", ".join(f"CAST(:{c} AS {kind}[])" for c, kind in _DEADLINE_COLUMNS.items())
    + ") ON CONFLICT (task_id) DO NOTHING RETURNING task_id"
)


async def insert_deadlines(
    session: AsyncSession, initial: dict[uuid.UUID, dict[str, Any]]
) -> set[uuid.UUID]:
    """Insert the rows of the tasks in ``initial`` (task id → its first state; a field it leaves
    out is NULL) that have none; one statement. The ids of the rows inserted."""
    if not initial:
        return set()
    rows = [{**values, "task_id": task_id} for task_id, values in initial.items()]
    params = {c: [r.get(c) for r in rows] for c in _DEADLINE_COLUMNS}
    inserted = await session.execute(_INSERT_DEADLINES, params)
    return set(inserted.scalars())


async def locked_deadlines(
    session: AsyncSession, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, TaskDeadline]:
    """The tasks' rows, locked in id order (two consumers' batches never wait on each other's)."""
    rows = await session.execute(
        select(TaskDeadline)
        .where(TaskDeadline.task_id.in_(task_ids))
        .order_by(TaskDeadline.task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.task_id: row for row in rows.scalars()}


async def open_deadlines(
    session: AsyncSession, team_ids: list[uuid.UUID], first: date, last: date
) -> list[TaskDeadline]:
    """Open tasks of the teams due on a day in ``[first, last]``."""
    if not team_ids:
        return []
    rows = await session.execute(
        select(TaskDeadline).where(
            TaskDeadline.team_id.in_(team_ids),
            TaskDeadline.due_date.is_not(None),
            TaskDeadline.due_date >= first,
            TaskDeadline.due_date <= last,
            TaskDeadline.is_completed.is_(False),
            TaskDeadline.deleted.is_(False),
        )
    )
    return list(rows.scalars())


async def open_deadlines_of_teams(
    session: AsyncSession, team_ids: list[uuid.UUID], since: date
) -> list[TaskDeadline]:
    if not team_ids:
        return []
    rows = await session.execute(
        select(TaskDeadline).where(
            TaskDeadline.team_id.in_(team_ids),
            TaskDeadline.due_date.is_not(None),
            TaskDeadline.due_date >= since,
            TaskDeadline.is_completed.is_(False),
            TaskDeadline.deleted.is_(False),
        )
    )
    return list(rows.scalars())


async def locked_meeting(session: AsyncSession, meeting_id: uuid.UUID) -> MeetingItem | None:
    return (
        await session.execute(
            select(MeetingItem)
            .where(MeetingItem.meeting_id == meeting_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def meetings_of(
    session: AsyncSession,
    user_id: uuid.UUID,
    team_ids: list[uuid.UUID],
    window_from: datetime | None,
    window_to: datetime | None,
    team_id: uuid.UUID | None = None,
) -> list[MeetingItem]:
    """Scheduled meetings the user takes part in (of teams they are still in, or teamless)."""
    stmt = select(MeetingItem).where(
        MeetingItem.participant_ids.contains([user_id]),
        MeetingItem.cancelled.is_(False),
        (MeetingItem.team_id.in_(team_ids) | MeetingItem.team_id.is_(None))
        if team_ids
        else MeetingItem.team_id.is_(None),
    )
    if team_id is not None:
        stmt = stmt.where(MeetingItem.team_id == team_id)
    if window_to is not None:
        stmt = stmt.where(MeetingItem.start_time < window_to)
    if window_from is not None:
        stmt = stmt.where(MeetingItem.end_time >= window_from)
    return list((await session.execute(stmt)).scalars())


async def locked_import(
    session: AsyncSession, integration_id: uuid.UUID, external_id: str
) -> ImportedEvent | None:
    return (
        await session.execute(
            select(ImportedEvent)
            .where(
                ImportedEvent.integration_id == integration_id,
                ImportedEvent.external_id == external_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def imported_of(
    session: AsyncSession, user_id: uuid.UUID, window_from: datetime, window_to: datetime
) -> list[ImportedEvent]:
    """The user's external calendar events overlapping the window (a zero-length one at its
    start counts)."""
    stmt = select(ImportedEvent).where(
        ImportedEvent.user_id == user_id,
        ImportedEvent.removed.is_(False),
        ImportedEvent.start_time < window_to,
        (ImportedEvent.end_time > window_from)
        | (
            (ImportedEvent.end_time == ImportedEvent.start_time)
            & (ImportedEvent.start_time >= window_from)
        ),
    )
    return list((await session.execute(stmt)).scalars())


async def forget_integration(session: AsyncSession, integration_id: uuid.UUID) -> None:
    await session.execute(
        delete(ImportedEvent).where(ImportedEvent.integration_id == integration_id)
    )


async def forget_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    await session.execute(delete(TaskDeadline).where(TaskDeadline.team_id == team_id))
    await session.execute(delete(MeetingItem).where(MeetingItem.team_id == team_id))


async def forget_all(session: AsyncSession) -> None:
    await session.execute(delete(TaskDeadline))
    await session.execute(delete(MeetingItem))
    await session.execute(delete(ImportedEvent))
