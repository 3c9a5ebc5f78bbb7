"""Subtasks: a task's checklist. Members add, change and delete them; each change is a row of
the task's history, and the board shows how many of a task's subtasks are done. They are not
the task's own fields, so they leave its version (ETag) alone."""

from __future__ import annotations

import uuid
from typing import Any

from vc_common.context import Context
from vc_common.errors import Invalid, NotFound
from vc_common.pagination import PageParams

from tasks import events
from tasks.models import Subtask, Task
from tasks.subtasks import repository as repo
from tasks.subtasks.schemas import SubtaskCreate, SubtaskUpdate
from tasks.tasks.service import visible_task

SUBTASK_NOT_FOUND = "Subtask not found."


async def list_subtasks(
    ctx: Context, task_id: uuid.UUID, page: PageParams
) -> tuple[list[Subtask], str | None]:
    task = await visible_task(ctx, task_id)
    return await repo.page_of_task(ctx.session, task.id, page)


async def add_subtask(ctx: Context, task_id: uuid.UUID, data: SubtaskCreate) -> Subtask:
    task = await visible_task(ctx, task_id, "subtask.write")
    session = ctx.session
    sub = Subtask(task_id=task.id, title=data.title, is_completed=data.is_completed)
    session.add(sub)
    await session.flush()
    await session.refresh(sub)
    await events.record_activity(
        session,
        task,
        actor=ctx.user.id,
        action="subtask_added",
        changes={
            "subtask_id": {"from": None, "to": sub.id},
            "title": {"from": None, "to": sub.title},
        },
    )
    return sub


async def visible_subtask(
    ctx: Context, subtask_id: uuid.UUID, action: str = "board.read"
) -> tuple[Subtask, Task]:
    found = await repo.with_task(ctx.session, subtask_id)
    if found is None:
        raise NotFound(SUBTASK_NOT_FOUND)
    await ctx.authorize(found[1].team_id, action, not_found=SUBTASK_NOT_FOUND)
    return found


async def update_subtask(ctx: Context, subtask_id: uuid.UUID, data: SubtaskUpdate) -> Subtask:
    sub, task = await visible_subtask(ctx, subtask_id, "subtask.write")
    changes = data.model_dump(exclude_unset=True)
    diff: dict[str, dict[str, Any]] = {}
    for field in ("title", "is_completed"):
        if field in changes:
            if changes[field] is None:
                raise Invalid(f"`{field}` cannot be null.", loc=["body", field])
            if changes[field] != getattr(sub, field):
                diff[field] = {"from": getattr(sub, field), "to": changes[field]}
                setattr(sub, field, changes[field])
    if diff:
        sub.updated_at = ctx.now()
        await ctx.session.flush()
        await events.record_activity(
            ctx.session,
            task,
            actor=ctx.user.id,
            action="subtask_updated",
            changes={"subtask_id": {"from": sub.id, "to": sub.id}, **diff},
        )
    return sub


async def delete_subtask(ctx: Context, subtask_id: uuid.UUID) -> None:
    sub, task = await visible_subtask(ctx, subtask_id, "subtask.write")
    await ctx.session.delete(sub)
    await ctx.session.flush()
    await events.record_activity(
        ctx.session,
        task,
        actor=ctx.user.id,
        action="subtask_deleted",
        changes={
            "subtask_id": {"from": sub.id, "to": None},
            "title": {"from": sub.title, "to": None},
        },
    )
