"""Tasks: creating, reading, changing and deleting them. Moves are ``tasks.tasks.moves``; where a
task sits in its column, ``tasks.tasks.positions``; when it is complete, ``tasks.tasks.completion``.

Versions. ``version`` grows on every change of the task's own fields (title, description,
assignee, priority, due date, labels, column, position, completion); it is the ``ETag``, and
PATCH honours ``If-Match`` (412 on a stale version). Subtasks, comments and attachments have
their own rows and do not change it.

Assignees. A task's assignee must be a member of its team (422 otherwise), as the membership
projection (with its read-through to teams) knows it. When teams removes a member, their open
tasks of that team are unassigned; completed ones keep them, as a record of who did the work.
"""

from __future__ import annotations

import uuid
from typing import Any

from vc_common.context import Context
from vc_common.errors import Invalid, NotFound, PreconditionFailed
from vc_common.ids import uuid7
from vc_common.pagination import PageParams

from tasks import events
from tasks.attachments import repository as attachment_repo
from tasks.boards import repository as board_repo
from tasks.boards.service import COLUMN_NOT_FOUND, visible_column
from tasks.labels import service as label_service
from tasks.models import Task, TaskActivity
from tasks.subtasks import repository as subtask_repo
from tasks.tasks import completion, positions
from tasks.tasks import repository as repo
from tasks.tasks.schemas import (
    TaskCreate,
    TaskDetail,
    TaskFilter,
    TaskLabelsPut,
    TaskRead,
    TaskUpdate,
)

TASK_NOT_FOUND = "Task not found."


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(header: str | None, version: int) -> None:
    """``If-Match: "<version>"`` (a list and ``*`` accepted); 412 when no tag matches."""
    if header is None:
        return
    for raw in header.split(","):
        tag = raw.strip()
        if tag == "*":
            return
        tag = tag.removeprefix("W/").strip('"')
        if tag == str(version):
            return
    raise PreconditionFailed(
        f"The task has changed since you read it (current ETag {etag(version)}); reload it and "
        "apply your change again.",
        current_etag=etag(version),
    )


async def visible_task(ctx: Context, task_id: uuid.UUID, action: str = "board.read") -> Task:
    """The task if the actor may do ``action`` on it; 404 for a missing task and for one of a
    team the actor is not in, alike."""
    task = await repo.get(ctx.session, task_id)
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    await ctx.authorize(task.team_id, action, not_found=TASK_NOT_FOUND)
    return task


async def check_assignee(
    ctx: Context, team_id: uuid.UUID, assignee_id: uuid.UUID | None, loc: list[str | int]
) -> None:
    """An assignee must be a member of the task's team: 422 otherwise."""
    if assignee_id is None or assignee_id == ctx.user.id:
        return  # the actor was just authorized as a member
    if await ctx.membership(team_id, assignee_id) is None:
        raise Invalid("The assignee is not a member of this team.", loc=loc)


async def read_task(ctx: Context, task_id: uuid.UUID) -> TaskRead:
    """The answer of a task the caller has just been allowed to see or change."""
    read = await repo.read_one(ctx.session, task_id)
    if read is None:
        raise NotFound(TASK_NOT_FOUND)
    return read


async def touch(ctx: Context, task: Task) -> None:
    """A change of the task's own fields: a new version."""
    task.version += 1
    task.updated_at = ctx.now()
    await ctx.session.flush()


# ------------------------------------------------------------------------------ create / read


async def create_task(ctx: Context, column_id: uuid.UUID, data: TaskCreate) -> TaskRead:
    column, board = await visible_column(ctx, column_id, "task.write")
    session, user = ctx.session, ctx.user
    await check_assignee(ctx, board.team_id, data.assignee_id, ["body", "assignee_id"])
    labels = await label_service.of_team_checked(
        session, board.team_id, data.label_ids, ["body", "label_ids"]
    )
    cols = await board_repo.lock_columns(session, {column.id})
    if not cols:
        raise NotFound(COLUMN_NOT_FOUND)
    column = cols[0]
    task_id = uuid7()
    found, rank = await positions.place(session, column.id, data.position, task_id)
    position = found.at
    task = Task(
        id=task_id,
        title=data.title,
        description=data.description,
        column_id=column.id,
        board_id=board.id,
        team_id=board.team_id,
        assignee_id=data.assignee_id,
        priority=data.priority,
        due_date=data.due_date,
        rank=rank,
        completed_at=ctx.now() if column.is_done else None,
        version=1,
        created_by_id=user.id,
    )
    session.add(task)
    await session.flush()
    label_ids = [label.id for label in labels]
    await repo.replace_labels(session, task.id, label_ids)
    await session.flush()
    await session.refresh(task)
    await events.record_activity(
        session,
        task,
        actor=user.id,
        action="created",
        changes={
            "title": {"from": None, "to": task.title},
            "column_id": {"from": None, "to": column.id},
        },
    )
    await events.task_created(session, task, actor=user.id, position=position, label_ids=label_ids)
    if task.assignee_id is not None:
        await events.task_assigned(session, task, actor=user.id, previous_assignee_id=None)
    await completion.record(ctx, task, None)
    return await read_task(ctx, task.id)


async def get_task(ctx: Context, task_id: uuid.UUID) -> TaskDetail:
    # the answer's row first, then the check on its team (one read of the task, not two: a
    # visible_task before it read the same row again); nothing of it leaves before the check
    read = await repo.read_one(ctx.session, task_id)
    if read is None:
        raise NotFound(TASK_NOT_FOUND)
    await ctx.authorize(read.team_id, "board.read", not_found=TASK_NOT_FOUND)
    return TaskDetail.model_construct(  # every part validated as it was built
        **dict(read),
        subtasks=await subtask_repo.of_task(ctx.session, task_id),
        attachments=await attachment_repo.of_task(ctx.session, task_id),
    )


async def list_team_tasks(
    ctx: Context, team_id: uuid.UUID, filters: TaskFilter, page: PageParams
) -> tuple[list[TaskRead], str | None]:
    """The team's tasks, newest first."""
    await ctx.authorize(team_id, "board.read")
    return await repo.page_of_team(ctx.session, team_id, filters, page)


async def list_activity(
    ctx: Context, task_id: uuid.UUID, page: PageParams
) -> tuple[list[TaskActivity], str | None]:
    """Who changed what on the task, and when; oldest first."""
    task = await visible_task(ctx, task_id)
    return await repo.activity_page(ctx.session, task.id, page)


# --------------------------------------------------------------------------------- update


async def update_task(
    ctx: Context, task_id: uuid.UUID, data: TaskUpdate, if_match: str | None = None
) -> TaskRead:
    task = await _update(ctx, task_id, data, if_match)
    return await read_task(ctx, task.id)


async def set_labels(ctx: Context, task_id: uuid.UUID, data: TaskLabelsPut) -> TaskRead:
    return await update_task(ctx, task_id, TaskUpdate(label_ids=data.label_ids))


async def _update(ctx: Context, task_id: uuid.UUID, data: TaskUpdate, if_match: str | None) -> Task:
    task = await visible_task(ctx, task_id, "task.write")
    session = ctx.session
    locked = await repo.lock(session, task.id)
    if locked is None:
        raise NotFound(TASK_NOT_FOUND)
    task = locked
    check_if_match(if_match, task.version)
    changes = data.model_dump(exclude_unset=True)
    for field in ("title", "priority"):
        if field in changes and changes[field] is None:
            raise Invalid(f"`{field}` cannot be null.", loc=["body", field])
    if changes.get("description", "") is None:
        changes["description"] = ""
    if "label_ids" in changes and changes["label_ids"] is None:
        changes["label_ids"] = []
    if "assignee_id" in changes and changes["assignee_id"] != task.assignee_id:
        await check_assignee(ctx, task.team_id, changes["assignee_id"], ["body", "assignee_id"])
    diff: dict[str, dict[str, Any]] = {}
    for field in ("title", "description", "priority", "due_date", "assignee_id"):
        if field in changes and changes[field] != getattr(task, field):
            diff[field] = {"from": getattr(task, field), "to": changes[field]}
            setattr(task, field, changes[field])
    if "label_ids" in changes:
        labels = await label_service.of_team_checked(
            session, task.team_id, changes["label_ids"], ["body", "label_ids"]
        )
        before = await repo.label_ids(session, task.id)
        after = [label.id for label in labels]
        if set(before) != set(after):
            await repo.replace_labels(session, task.id, after)
            diff["label_ids"] = {"from": sorted(map(str, before)), "to": sorted(map(str, after))}
    if diff:
        await touch(ctx, task)
        await _record_update(ctx, task, diff)
    return task


async def _record_update(ctx: Context, task: Task, diff: dict[str, dict[str, Any]]) -> None:
    session, actor = ctx.session, ctx.user.id
    assigned = diff.pop("assignee_id", None)
    if diff:
        await events.record_activity(session, task, actor=actor, action="updated", changes=diff)
        await events.task_updated(session, task, actor=actor, changes=diff)
    if assigned is not None:
        await events.record_activity(
            session, task, actor=actor, action="assigned", changes={"assignee_id": assigned}
        )
        await events.task_assigned(
            session, task, actor=actor, previous_assignee_id=assigned["from"]
        )


# --------------------------------------------------------------------------------- delete


async def delete_task(ctx: Context, task_id: uuid.UUID) -> None:
    """No other task changes: the ones after it just come one index earlier, so it holds its
    column's lock, as a move out does (``tasks.tasks.positions``)."""
    task = await visible_task(ctx, task_id, "task.write")
    session = ctx.session

    async def lock(_columns: dict[uuid.UUID, Any], _src: uuid.UUID) -> tuple[Task, uuid.UUID]:
        fresh = await repo.lock(session, task_id)
        if fresh is None:
            raise NotFound(TASK_NOT_FOUND)
        return fresh, fresh.column_id

    fresh = await positions.with_places_locked(session, task.column_id, set(), lock)
    snapshot = events.snapshot(fresh)
    completed_at = fresh.completed_at
    await repo.delete_task(session, fresh)
    await events.task_deleted(
        session, snapshot, actor=ctx.user.id, completed_at=completed_at, deleted_at=ctx.now()
    )


# ---------------------------------------------------------------- what other contexts tell us


async def unassign_member(
    ctx: Context, team_id: uuid.UUID, member_id: uuid.UUID, actor: uuid.UUID | None
) -> list[Task]:
    """``member_id`` left the team (``teams.member.removed``, by ``actor``): their open tasks
    there lose their assignee, each with a history row and ``tasks.task.assigned`` to null."""
    session, now = ctx.session, ctx.now()
    tasks = await repo.open_of_assignee(session, team_id, member_id)
    for task in tasks:
        task.assignee_id = None
        task.version += 1
        task.updated_at = now
    await session.flush()
    for task in tasks:
        await events.record_activity(
            session,
            task,
            actor=actor,
            action="unassigned",
            changes={
                "assignee_id": {"from": member_id, "to": None},
                "reason": {"from": None, "to": "member_removed"},
            },
        )
        await events.task_assigned(
            session, task, actor=actor, previous_assignee_id=member_id, reason="member_removed"
        )
    return tasks


async def record_focus(
    ctx: Context,
    task_id: uuid.UUID,
    *,
    team_id: uuid.UUID | None,
    user_id: uuid.UUID,
    minutes: int,
    session_id: Any,
    ended_at: Any,
) -> bool:
    """A focus session on the task ended (``focus.session.ended``): its minutes show on the
    task's history. Focus does not know tasks, so a deleted task or one of another team than
    the session's is ignored (False)."""
    task = await repo.get(ctx.session, task_id)
    if task is None or (team_id is not None and task.team_id != team_id):
        return False
    await events.record_activity(
        ctx.session,
        task,
        actor=user_id,
        action="focused",
        changes={
            "focus_minutes": {"from": None, "to": minutes},
            "session_id": {"from": None, "to": session_id},
            "ended_at": {"from": None, "to": ended_at},
        },
    )
    return True
