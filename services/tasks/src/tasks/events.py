"""What the tasks service publishes, and the activity history written next to each change.

Every event goes to the outbox in the transaction of the change (``vc_common.events.outbox``);
its ``data`` always carries ``team_id`` and the acting ``user_id`` (``None`` when the system
acts). One JSON Schema per type lives in ``contracts/events/<type>.v1.json``. The task events
share the task's snapshot (ids, title, assignee, priority, due date) so a consumer acts without
calling back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.outbox import add_event

from tasks.models import Board, Column, Task, TaskComment, event_tables
from tasks.tasks import repository as task_repo

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


def snapshot(task: Task) -> dict[str, Any]:
    """What every task event says of the task."""
    return {
        "task_id": task.id,
        "board_id": task.board_id,
        "team_id": task.team_id,
        "column_id": task.column_id,
        "title": task.title,
        "assignee_id": task.assignee_id,
        "priority": task.priority,
        "due_date": task.due_date,
    }


async def board_created(
    session: AsyncSession, board: Board, columns: Sequence[Column], *, actor: uuid.UUID
) -> None:
    await publish(
        session,
        BOARD_CREATED,
        board.id,
        {
            "board_id": board.id,
            "team_id": board.team_id,
            "user_id": actor,
            "name": board.name,
            "columns": [
                {"column_id": c.id, "name": c.name, "order": c.order, "is_done": c.is_done}
                for c in columns
            ],
            "created_at": board.created_at,
        },
    )


async def task_created(
    session: AsyncSession,
    task: Task,
    *,
    actor: uuid.UUID,
    position: int,
    label_ids: Sequence[uuid.UUID],
) -> None:
    await publish(
        session,
        TASK_CREATED,
        task.id,
        {
            **snapshot(task),
            "user_id": actor,
            "position": position,
            "label_ids": list(label_ids),
            "created_at": task.created_at,
        },
    )


async def task_assigned(
    session: AsyncSession,
    task: Task,
    *,
    actor: uuid.UUID | None,
    previous_assignee_id: uuid.UUID | None,
    reason: str | None = None,
) -> None:
    """The task's assignee is now ``task.assignee_id`` (``None``: unassigned)."""
    data = {**snapshot(task), "user_id": actor, "previous_assignee_id": previous_assignee_id}
    if reason is not None:
        data["reason"] = reason
    await publish(session, TASK_ASSIGNED, task.id, data)


async def task_updated(
    session: AsyncSession, task: Task, *, actor: uuid.UUID, changes: dict[str, Any]
) -> None:
    await publish(
        session,
        TASK_UPDATED,
        task.id,
        {**snapshot(task), "user_id": actor, "changes": changes, "version": task.version},
    )


def moved(
    task: Task,
    *,
    actor: uuid.UUID,
    from_column_id: uuid.UUID,
    from_position: int,
    position: int,
) -> tuple[str, dict[str, Any]]:
    """``tasks.task.moved``'s type and data. ``position``: the task's index in its column after
    the move (``from_position`` before)."""
    return TASK_MOVED, {
        **snapshot(task),
        "user_id": actor,
        "from_column_id": from_column_id,
        "to_column_id": task.column_id,
        "from_position": from_position,
        "position": position,
        "is_completed": task.completed_at is not None,
    }


def completed(task: Task, *, actor: uuid.UUID) -> tuple[str, dict[str, Any]]:
    return TASK_COMPLETED, {
        **snapshot(task),
        "user_id": actor,
        "completed_at": task.completed_at,
        "created_at": task.created_at,
    }


def reopened(
    task: Task, *, actor: uuid.UUID, previous_completed_at: datetime, reopened_at: datetime
) -> tuple[str, dict[str, Any]]:
    return TASK_REOPENED, {
        **snapshot(task),
        "user_id": actor,
        "reopened_at": reopened_at,
        "previous_completed_at": previous_completed_at,
    }


async def task_deleted(
    session: AsyncSession,
    task: dict[str, Any],
    *,
    actor: uuid.UUID,
    completed_at: datetime | None,
    deleted_at: datetime,
) -> None:
    """``task``: the :func:`snapshot` taken before the row went."""
    await publish(
        session,
        TASK_DELETED,
        task["task_id"],
        {**task, "user_id": actor, "completed_at": completed_at, "deleted_at": deleted_at},
    )


async def comment_added(
    session: AsyncSession, comment: TaskComment, task: Task, *, actor: uuid.UUID
) -> None:
    await publish(
        session,
        COMMENT_ADDED,
        comment.id,
        {
            "comment_id": comment.id,
            "task_id": task.id,
            "board_id": task.board_id,
            "team_id": task.team_id,
            "user_id": actor,
            "content": comment.content,
            "task_title": task.title,
            "assignee_id": task.assignee_id,
            "task_created_by_id": task.created_by_id,
            "created_at": comment.created_at,
        },
    )


async def record_activity(
    session: AsyncSession,
    task: Task,
    *,
    actor: uuid.UUID | None,
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """One row of the task's history. ``changes`` maps a field to ``{"from": .., "to": ..}``."""
    await task_repo.add_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=actor,
        action=action,
        changes=jsonable(changes or {}),
    )
