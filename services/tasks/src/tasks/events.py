"""What the tasks service publishes, and the activity history written next to each change.

Every event goes to the outbox in the transaction of the change (``vc_common.events.outbox``);
its ``data`` always carries ``team_id`` and the acting ``user_id``. One JSON Schema per type lives
in ``contracts/events/<type>.v1.json``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.outbox import add_event

from tasks.models import TaskActivity, event_tables

SOURCE = "tasks"

BOARD_CREATED = "tasks.board.created"
TASK_CREATED = "tasks.task.created"
TASK_UPDATED = "tasks.task.updated"
TASK_ASSIGNED = "tasks.task.assigned"
TASK_MOVED = "tasks.task.moved"
TASK_COMPLETED = "tasks.task.completed"
TASK_REOPENED = "tasks.task.reopened"
TASK_DELETED = "tasks.task.deleted"
COMMENT_ADDED = "tasks.comment.added"

PUBLISHED = (
    BOARD_CREATED,
    TASK_CREATED,
    TASK_UPDATED,
    TASK_ASSIGNED,
    TASK_MOVED,
    TASK_COMPLETED,
    TASK_REOPENED,
    TASK_DELETED,
    COMMENT_ADDED,
)


def jsonable(value: Any) -> Any:
    """Ids, dates and times as the API spells them (RFC 3339 UTC with ``Z``; ``YYYY-MM-DD``)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


async def publish(
    session: AsyncSession, type_: str, subject: uuid.UUID, data: dict[str, Any]
) -> None:
    await add_event(
        session, event_tables, source=SOURCE, type=type_, subject=subject, data=jsonable(data)
    )


async def record_activity(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    team_id: uuid.UUID,
    user_id: uuid.UUID | None,
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """One row of the task's history. ``changes`` maps a field to ``{"from": .., "to": ..}``."""
    await session.execute(
        insert(TaskActivity).values(
            task_id=task_id,
            team_id=team_id,
            user_id=user_id,
            action=action,
            changes=jsonable(changes or {}),
        )
    )
