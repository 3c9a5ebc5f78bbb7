"""Tasks: every rule about them lives here.

Ordering. ``position`` is dense (0..n-1) inside a column. Whatever changes a column's sequence
(create, move, delete) first locks the column rows it touches, in one fixed order (by id), then
re-reads the task under that lock and renumbers the affected columns densely in one UPDATE each.
Two concurrent moves therefore serialize per column and never deadlock; and if the task left its
column between the first read and the lock (someone else moved it), the savepoint is rolled back
(which releases the locks) and the move is retried with the new column.

Completion. Entering an ``is_done`` column completes a task (``completed_at``,
``tasks.task.completed``); leaving one reopens it (``tasks.task.reopened``); moves inside or between
done columns change nothing of that kind.

Versions. ``version`` grows on every change of the task's own fields (title, description,
assignee, priority, due date, labels, column, position, completion); it is the ``ETag``, and
PATCH honours ``If-Match`` (412 on a stale version). Subtasks, comments and attachments have
their own rows and do not change it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser
from vc_common.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from vc_common.membership import Membership

from tasks import access, events, ordering
from tasks.boards import repository as board_repo
from tasks.boards import service as board_service
from tasks.labels import service as label_service
from tasks.models import Column, Subtask, Task, TaskAttachment, TaskLabel
from tasks.tasks import repository as repo
from tasks.tasks.schemas import (
    AttachmentCreate,
    SubtaskCreate,
    SubtaskUpdate,
    TaskCreate,
    TaskLabelsPut,
    TaskMove,
    TaskUpdate,
)

T = TypeVar("T")
MOVE_ATTEMPTS = 5


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


async def visible_task(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    task_id: uuid.UUID,
    min_role: str = access.MEMBER,
) -> tuple[Task, Membership]:
    task = await session.get(Task, task_id)
    if task is None:
        raise NotFound("Task not found.")
    member = await access.authorize(session, request, task.team_id, user, min_role)
    return task, member


async def _lock_task(session: AsyncSession, task_id: uuid.UUID) -> Task:
    task = (
        await session.execute(
            select(Task)
            .where(Task.id == task_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if task is None:
        raise NotFound("Task not found.")
    return task


class _TaskMovedMeanwhile(Exception):
    pass


async def _under_column_locks(
    session: AsyncSession,
    task: Task,
    also: set[uuid.UUID],
    work: Callable[[Task, dict[uuid.UUID, Column]], Awaitable[T]],
) -> T:
    """Run ``work(locked_task, locked_columns)`` holding the locks of the task's column and of
    ``also``, taken in id order; retried when the task changed column before the lock."""
    column_id = task.column_id
    for _ in range(MOVE_ATTEMPTS):
        try:
            async with session.begin_nested():
                cols = await repo.lock_columns(session, {column_id, *also})
                locked = {c.id: c for c in cols}
                fresh = await _lock_task(session, task.id)
                if fresh.column_id not in locked:
                    column_id = fresh.column_id
                    raise _TaskMovedMeanwhile
                if not also <= locked.keys():
                    raise NotFound("Column not found.")
                return await work(fresh, locked)
        except _TaskMovedMeanwhile:
            continue
    raise Conflict("The task keeps moving; reload the board and try again.")


def _snapshot(task: Task) -> dict[str, Any]:
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


async def emit_completion(
    session: AsyncSession,
    task: Task,
    actor: uuid.UUID,
    before: datetime | None,
    *,
    board_id: uuid.UUID,
) -> None:
    """Events and history when ``completed_at`` went from ``before`` to the task's value."""
    del board_id
    after = task.completed_at
    if before is None and after is not None:
        await events.record_activity(
            session,
            task_id=task.id,
            team_id=task.team_id,
            user_id=actor,
            action="completed",
            changes={"completed_at": {"from": None, "to": after}},
        )
        await events.publish(
            session,
            events.TASK_COMPLETED,
            task.id,
            {
                **_snapshot(task),
                "user_id": actor,
                "completed_at": after,
                "created_at": task.created_at,
            },
        )
    elif before is not None and after is None:
        now = datetime.now(UTC)
        await events.record_activity(
            session,
            task_id=task.id,
            team_id=task.team_id,
            user_id=actor,
            action="reopened",
            changes={"completed_at": {"from": before, "to": None}},
        )
        await events.publish(
            session,
            events.TASK_REOPENED,
            task.id,
            {
                **_snapshot(task),
                "user_id": actor,
                "reopened_at": now,
                "previous_completed_at": before,
            },
        )


async def _replace_labels(
    session: AsyncSession, task_id: uuid.UUID, label_ids: list[uuid.UUID]
) -> None:
    await session.execute(sql_delete(TaskLabel).where(TaskLabel.task_id == task_id))
    if label_ids:
        await session.execute(
            insert(TaskLabel), [{"task_id": task_id, "label_id": i} for i in label_ids]
        )


# ------------------------------------------------------------------------------ create / read


async def create_task(
    session: AsyncSession, request: Request, user: AuthUser, column_id: uuid.UUID, data: TaskCreate
) -> Task:
    column, board = await board_service.visible_column(session, request, user, column_id)
    await access.check_assignee(
        session, request, board.team_id, user, data.assignee_id, ["body", "assignee_id"]
    )
    labels = await label_service.of_team_checked(
        session, board.team_id, data.label_ids, ["body", "label_ids"]
    )
    cols = await repo.lock_columns(session, {column.id})
    if not cols:
        raise NotFound("Column not found.")
    column = cols[0]
    current = dict(await repo.positions(session, column.id))
    now = datetime.now(UTC)
    task = Task(
        title=data.title,
        description=data.description,
        column_id=column.id,
        board_id=board.id,
        team_id=board.team_id,
        assignee_id=data.assignee_id,
        priority=data.priority,
        due_date=data.due_date,
        position=len(current),
        completed_at=now if column.is_done else None,
        version=1,
        created_by_id=user.id,
    )
    session.add(task)
    await session.flush()
    if data.position is not None and data.position < len(current):
        new = ordering.insert_at(list(current), task.id, data.position)
        await ordering.renumber(
            session, Task, Task.position, new, {**current, task.id: len(current)}
        )
        task.position = new.index(task.id)
    await _replace_labels(session, task.id, [label.id for label in labels])
    await session.flush()
    await session.refresh(task)
    await events.record_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=user.id,
        action="created",
        changes={
            "title": {"from": None, "to": task.title},
            "column_id": {"from": None, "to": column.id},
        },
    )
    await events.publish(
        session,
        events.TASK_CREATED,
        task.id,
        {
            **_snapshot(task),
            "user_id": user.id,
            "position": task.position,
            "label_ids": [label.id for label in labels],
            "created_at": task.created_at,
        },
    )
    if task.assignee_id is not None:
        await events.publish(
            session,
            events.TASK_ASSIGNED,
            task.id,
            {
                **_snapshot(task),
                "user_id": user.id,
                "previous_assignee_id": None,
            },
        )
    if task.completed_at is not None:
        await emit_completion(session, task, user.id, None, board_id=board.id)
    return task


async def task_detail(session: AsyncSession, task_id: uuid.UUID) -> dict[str, Any]:
    read = await repo.read_one(session, task_id)
    if read is None:
        raise NotFound("Task not found.")
    subtasks = list(
        (
            await session.execute(
                select(Subtask)
                .where(Subtask.task_id == task_id)
                .order_by(Subtask.created_at, Subtask.id)
            )
        ).scalars()
    )
    attachments = list(
        (
            await session.execute(
                select(TaskAttachment)
                .where(TaskAttachment.task_id == task_id)
                .order_by(TaskAttachment.created_at, TaskAttachment.id)
            )
        ).scalars()
    )
    return {**read.model_dump(), "subtasks": subtasks, "attachments": attachments}


# --------------------------------------------------------------------------------- update


async def update_task(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    task_id: uuid.UUID,
    data: TaskUpdate,
    if_match: str | None,
) -> Task:
    task, _ = await visible_task(session, request, user, task_id)
    task = await _lock_task(session, task.id)
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
        await access.check_assignee(
            session, request, task.team_id, user, changes["assignee_id"], ["body", "assignee_id"]
        )
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
            await _replace_labels(session, task.id, after)
            diff["label_ids"] = {"from": sorted(map(str, before)), "to": sorted(map(str, after))}
    if diff:
        await _bump(session, task)
        await _record_update(session, task, user.id, diff)
    return task


async def _bump(session: AsyncSession, task: Task) -> None:
    task.version += 1
    task.updated_at = datetime.now(UTC)
    await session.flush()


async def _record_update(
    session: AsyncSession, task: Task, actor: uuid.UUID, diff: dict[str, dict[str, Any]]
) -> None:
    assigned = diff.pop("assignee_id", None)
    if diff:
        await events.record_activity(
            session,
            task_id=task.id,
            team_id=task.team_id,
            user_id=actor,
            action="updated",
            changes=diff,
        )
        await events.publish(
            session,
            events.TASK_UPDATED,
            task.id,
            {
                **_snapshot(task),
                "user_id": actor,
                "changes": diff,
                "version": task.version,
            },
        )
    if assigned is not None:
        await events.record_activity(
            session,
            task_id=task.id,
            team_id=task.team_id,
            user_id=actor,
            action="assigned",
            changes={"assignee_id": assigned},
        )
        await events.publish(
            session,
            events.TASK_ASSIGNED,
            task.id,
            {
                **_snapshot(task),
                "user_id": actor,
                "previous_assignee_id": assigned["from"],
            },
        )


async def set_labels(
    session: AsyncSession, request: Request, user: AuthUser, task_id: uuid.UUID, data: TaskLabelsPut
) -> Task:
    return await update_task(
        session, request, user, task_id, TaskUpdate(label_ids=data.label_ids), None
    )


# ----------------------------------------------------------------------------------- move


async def move_task(
    session: AsyncSession, request: Request, user: AuthUser, task_id: uuid.UUID, data: TaskMove
) -> Task:
    task, _ = await visible_task(session, request, user, task_id)
    target = await board_repo.get_column(session, data.column_id)
    if target is None or target.board_id != task.board_id:
        raise Invalid("The column is not on this task's board.", loc=["body", "column_id"])

    async def work(fresh: Task, cols: dict[uuid.UUID, Column]) -> Task:
        src, dst = cols[fresh.column_id], cols[target.id]
        from_pos = fresh.position
        if src.id == dst.id:
            current = dict(await repo.positions(session, src.id))
            new = ordering.insert_at(list(current), fresh.id, data.position)
            new_pos = new.index(fresh.id)
            if new_pos == from_pos and sorted(current.values()) == list(range(len(current))):
                return fresh  # nothing moves
            await ordering.renumber(
                session, Task, Task.position, new, {**current, fresh.id: new_pos}
            )
        else:
            src_now = dict(await repo.positions(session, src.id))
            left = [i for i in src_now if i != fresh.id]
            await ordering.renumber(session, Task, Task.position, left, src_now)
            current = dict(await repo.positions(session, dst.id))
            new = ordering.insert_at(list(current), fresh.id, data.position)
            new_pos = new.index(fresh.id)
            await ordering.renumber(
                session, Task, Task.position, new, {**current, fresh.id: new_pos}
            )
        before_done = fresh.completed_at
        fresh.column_id = dst.id
        fresh.position = new_pos
        if dst.is_done and not src.is_done:
            fresh.completed_at = datetime.now(UTC)
        elif src.is_done and not dst.is_done:
            fresh.completed_at = None
        await _bump(session, fresh)
        await events.record_activity(
            session,
            task_id=fresh.id,
            team_id=fresh.team_id,
            user_id=user.id,
            action="moved",
            changes={
                "column_id": {"from": src.id, "to": dst.id},
                "position": {"from": from_pos, "to": new_pos},
            },
        )
        await events.publish(
            session,
            events.TASK_MOVED,
            fresh.id,
            {
                **_snapshot(fresh),
                "user_id": user.id,
                "from_column_id": src.id,
                "to_column_id": dst.id,
                "from_position": from_pos,
                "position": new_pos,
                "is_completed": fresh.completed_at is not None,
            },
        )
        await emit_completion(session, fresh, user.id, before_done, board_id=fresh.board_id)
        return fresh

    return await _under_column_locks(session, task, {target.id}, work)


# --------------------------------------------------------------------------------- delete


async def delete_task(
    session: AsyncSession, request: Request, user: AuthUser, task_id: uuid.UUID
) -> None:
    task, _ = await visible_task(session, request, user, task_id)

    async def work(fresh: Task, cols: dict[uuid.UUID, Column]) -> None:
        del cols
        snapshot = _snapshot(fresh)
        completed_at = fresh.completed_at
        await session.execute(
            sql_delete(Task).where(Task.id == fresh.id).execution_options(synchronize_session=False)
        )
        session.expunge(fresh)
        current = dict(await repo.positions(session, fresh.column_id))
        await ordering.renumber(session, Task, Task.position, list(current), current)
        await events.publish(
            session,
            events.TASK_DELETED,
            fresh.id,
            {
                **snapshot,
                "user_id": user.id,
                "completed_at": completed_at,
                "deleted_at": datetime.now(UTC),
            },
        )

    await _under_column_locks(session, task, set(), work)


# ------------------------------------------------------------------------------- subtasks


async def add_subtask(
    session: AsyncSession, request: Request, user: AuthUser, task_id: uuid.UUID, data: SubtaskCreate
) -> Subtask:
    task, _ = await visible_task(session, request, user, task_id)
    sub = Subtask(task_id=task.id, title=data.title, is_completed=data.is_completed)
    session.add(sub)
    await session.flush()
    await session.refresh(sub)
    await events.record_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=user.id,
        action="subtask_added",
        changes={
            "subtask_id": {"from": None, "to": sub.id},
            "title": {"from": None, "to": sub.title},
        },
    )
    return sub


async def visible_subtask(
    session: AsyncSession, request: Request, user: AuthUser, subtask_id: uuid.UUID
) -> tuple[Subtask, Task]:
    row = (
        await session.execute(
            select(Subtask, Task)
            .join(Task, Task.id == Subtask.task_id)
            .where(Subtask.id == subtask_id)
        )
    ).first()
    if row is None:
        raise NotFound("Subtask not found.")
    await access.authorize(session, request, row[1].team_id, user)
    return row[0], row[1]


async def update_subtask(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    subtask_id: uuid.UUID,
    data: SubtaskUpdate,
) -> Subtask:
    sub, task = await visible_subtask(session, request, user, subtask_id)
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
        sub.updated_at = datetime.now(UTC)
        await session.flush()
        await events.record_activity(
            session,
            task_id=task.id,
            team_id=task.team_id,
            user_id=user.id,
            action="subtask_updated",
            changes={"subtask_id": {"from": sub.id, "to": sub.id}, **diff},
        )
    return sub


async def delete_subtask(
    session: AsyncSession, request: Request, user: AuthUser, subtask_id: uuid.UUID
) -> None:
    sub, task = await visible_subtask(session, request, user, subtask_id)
    await session.delete(sub)
    await session.flush()
    await events.record_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=user.id,
        action="subtask_deleted",
        changes={
            "subtask_id": {"from": sub.id, "to": None},
            "title": {"from": sub.title, "to": None},
        },
    )


# ---------------------------------------------------------------------------- attachments


async def add_attachment(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    task_id: uuid.UUID,
    data: AttachmentCreate,
) -> TaskAttachment:
    task, _ = await visible_task(session, request, user, task_id)
    att = TaskAttachment(
        task_id=task.id, file_url=data.file_url, filename=data.filename, uploaded_by_id=user.id
    )
    session.add(att)
    await session.flush()
    await session.refresh(att)
    await events.record_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=user.id,
        action="attachment_added",
        changes={"filename": {"from": None, "to": att.filename}},
    )
    return att


async def delete_attachment(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    task_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> None:
    task, member = await visible_task(session, request, user, task_id)
    att = await session.get(TaskAttachment, attachment_id)
    if att is None or att.task_id != task.id:
        raise NotFound("Attachment not found.")
    if att.uploaded_by_id != user.id and not access.is_admin(member):
        raise Forbidden("Only the uploader or a team admin may remove an attachment.")
    await session.delete(att)
    await session.flush()
    await events.record_activity(
        session,
        task_id=task.id,
        team_id=task.team_id,
        user_id=user.id,
        action="attachment_removed",
        changes={"filename": {"from": att.filename, "to": None}},
    )
