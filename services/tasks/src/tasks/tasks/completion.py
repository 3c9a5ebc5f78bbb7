"""When a task is complete, and what that emits: the one place for it, whatever completes a
task (a move, a create, a column that becomes a done column).

A task in an ``is_done`` column is complete. Entering one sets ``completed_at`` (history
``completed``, ``tasks.task.completed``); leaving one clears it (``reopened``,
``tasks.task.reopened``); moves inside or between done columns change neither. Creating a task in
a done column completes it at once; marking a column done completes its open tasks, and marking it
not done reopens its completed ones.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from vc_common.context import Context

from tasks import events
from tasks.models import Column, Task
from tasks.tasks import repository as repo


def after_move(
    completed_at: datetime | None, *, left_done: bool, enters_done: bool, now: datetime
) -> datetime | None:
    """``completed_at`` of a task moved out of a column (done or not) into another."""
    if enters_done and not left_done:
        return now
    if left_done and not enters_done:
        return None
    return completed_at


class Step(NamedTuple):
    """One change a task's history and events tell: its history row and its event."""

    action: str  # the history row's
    changes: dict[str, Any]
    type: str  # the event's
    data: dict[str, Any]


def steps(task: Task, before: datetime | None, *, actor: uuid.UUID, now: datetime) -> list[Step]:
    """What ``completed_at`` going from ``before`` to the task's value tells: nothing, or its
    completion, or its reopening."""
    after = task.completed_at
    if before is None and after is not None:
        changes = {"completed_at": {"from": None, "to": after}}
        return [Step("completed", changes, *events.completed(task, actor=actor))]
    if before is not None and after is None:
        changes = {"completed_at": {"from": before, "to": None}}
        kind, data = events.reopened(
            task, actor=actor, previous_completed_at=before, reopened_at=now
        )
        return [Step("reopened", changes, kind, data)]
    return []


async def record(ctx: Context, task: Task, before: datetime | None) -> None:
    """History and event when ``completed_at`` went from ``before`` to the task's value."""
    session, actor = ctx.session, ctx.user.id
    for step in steps(task, before, actor=actor, now=ctx.now()):
        await events.record_activity(
            session, task, actor=actor, action=step.action, changes=step.changes
        )
        await events.publish(session, step.type, task.id, step.data)


async def follow_column(ctx: Context, column: Column) -> None:
    """The tasks of ``column`` (locked by the caller) follow its new ``is_done``: each one that
    changes gets a new version, its history row and its event, in position order."""
    session, now = ctx.session, ctx.now()
    tasks = await repo.in_column(session, column.id, completed=not column.is_done, lock=True)
    befores = [t.completed_at for t in tasks]
    for task in tasks:
        task.completed_at = now if column.is_done else None
        task.version += 1
        task.updated_at = now
    await session.flush()
    for task, before in zip(tasks, befores, strict=True):
        await record(ctx, task, before)
