"""All SQL about tasks. Answers are assembled in a fixed number of statements: one for the tasks
with their subtask counts (correlated aggregates), one for their labels, whatever their number."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Uuid,
    and_,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.pagination import PageParams, paginate

from tasks.cursors import parse_timestamp
from tasks.labels.schemas import LabelRead
from tasks.models import Label, Subtask, Task, TaskActivity, TaskLabel
from tasks.tasks.schemas import TaskFilter, TaskRead

_subtask_total = (
    select(func.count(Subtask.id))
    .where(Subtask.task_id == Task.id)
    .correlate(Task)
    .scalar_subquery()
    .label("subtask_count")
)
_subtask_done = (
    select(func.count(Subtask.id))
    .where(Subtask.task_id == Task.id, Subtask.is_completed)
    .correlate(Task)
    .scalar_subquery()
    .label("subtasks_completed")
)


def cards() -> Select[Any]:
    """Tasks with their subtask counts (one statement)."""
    return select(Task, _subtask_total, _subtask_done)


async def labels_of(
    session: AsyncSession,
    *,
    task_ids: Sequence[uuid.UUID] | None = None,
    board_id: uuid.UUID | None = None,
) -> dict[uuid.UUID, list[LabelRead]]:
    stmt = select(TaskLabel.task_id, Label).join(Label, Label.id == TaskLabel.label_id)
    if board_id is not None:
        stmt = stmt.join(Task, Task.id == TaskLabel.task_id).where(Task.board_id == board_id)
    else:
        if not task_ids:
            return {}
        stmt = stmt.where(TaskLabel.task_id.in_(task_ids))
    out: dict[uuid.UUID, list[LabelRead]] = defaultdict(list)
    for task_id, label in (await session.execute(stmt.order_by(Label.name, Label.id))).all():
        out[task_id].append(LabelRead.model_validate(label))
    return out


def to_read(task: Task, total: int, done: int, labels: list[LabelRead]) -> TaskRead:
    return TaskRead(
        id=task.id,
        title=task.title,
        description=task.description,
        column_id=task.column_id,
        board_id=task.board_id,
        team_id=task.team_id,
        assignee_id=task.assignee_id,
        priority=task.priority,
        due_date=task.due_date,
        position=task.position,
        is_completed=task.completed_at is not None,
        completed_at=task.completed_at,
        version=task.version,
        created_by_id=task.created_by_id,
        created_at=task.created_at,
        updated_at=task.updated_at,
        labels=labels,
        subtask_count=total,
        subtasks_completed=done,
    )


async def hydrate(
    session: AsyncSession, rows: Sequence[Any], *, board_id: uuid.UUID | None = None
) -> list[TaskRead]:
    """``rows`` from :func:`cards` to ``TaskRead``; one more statement for the labels."""
    labels = await labels_of(session, task_ids=[r[0].id for r in rows], board_id=board_id)
    return [to_read(r[0], r[1], r[2], labels.get(r[0].id, [])) for r in rows]


async def hydrate_tasks(session: AsyncSession, tasks: Sequence[Task]) -> list[TaskRead]:
    """Plain tasks (a page of a list) to ``TaskRead``: two statements, counts and labels."""
    ids = [t.id for t in tasks]
    if not ids:
        return []
    counts = {
        r[0]: (r[1], r[2])
        for r in (
            await session.execute(
                select(
                    Subtask.task_id,
                    func.count(Subtask.id),
                    func.count(Subtask.id).filter(Subtask.is_completed),
                )
                .where(Subtask.task_id.in_(ids))
                .group_by(Subtask.task_id)
            )
        ).all()
    }
    labels = await labels_of(session, task_ids=ids)
    return [to_read(t, *counts.get(t.id, (0, 0)), labels.get(t.id, [])) for t in tasks]


async def read_one(session: AsyncSession, task_id: uuid.UUID) -> TaskRead | None:
    row = (await session.execute(cards().where(Task.id == task_id))).first()
    if row is None:
        return None
    return (await hydrate(session, [row]))[0]


async def of_board(session: AsyncSession, board_id: uuid.UUID) -> list[TaskRead]:
    rows = (
        await session.execute(
            cards().where(Task.board_id == board_id).order_by(Task.column_id, Task.position)
        )
    ).all()
    return await hydrate(session, rows, board_id=board_id)


async def positions(session: AsyncSession, column_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
    return [
        (r[0], r[1])
        for r in (
            await session.execute(
                select(Task.id, Task.position)
                .where(Task.column_id == column_id)
                .order_by(Task.position, Task.id)
            )
        ).all()
    ]


async def label_ids(session: AsyncSession, task_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (
            await session.execute(select(TaskLabel.label_id).where(TaskLabel.task_id == task_id))
        ).scalars()
    )


def filtered(team_id: uuid.UUID, f: TaskFilter) -> Select[Any]:
    stmt = select(Task).where(Task.team_id == team_id)
    if f.assignee_id is not None:
        stmt = stmt.where(Task.assignee_id == f.assignee_id)
    if f.priority is not None:
        stmt = stmt.where(Task.priority == f.priority)
    if f.board_id is not None:
        stmt = stmt.where(Task.board_id == f.board_id)
    if f.due_before is not None:
        stmt = stmt.where(Task.due_date < f.due_before)
    if f.is_completed is not None:
        stmt = stmt.where(
            Task.completed_at.is_not(None) if f.is_completed else Task.completed_at.is_(None)
        )
    if f.label_id is not None:
        stmt = stmt.where(
            select(TaskLabel.task_id)
            .where(and_(TaskLabel.task_id == Task.id, TaskLabel.label_id == f.label_id))
            .exists()
        )
    if f.q:
        pattern = (
            "%" + f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        # the same expression as the trigram index ix_tasks_search_trgm, so the planner uses it
        searchable = func.lower(
            Task.title.op("||")(literal_column("' '")).op("||")(Task.description)
        )
        stmt = stmt.where(searchable.like(pattern))
    return stmt


async def page_of_team(
    session: AsyncSession, team_id: uuid.UUID, f: TaskFilter, params: PageParams
) -> tuple[list[TaskRead], str | None]:
    """One page of the team's tasks, newest first: three statements (tasks, counts, labels)."""
    rows, cursor = await paginate(
        session,
        filtered(team_id, f),
        params,
        keys=[Task.created_at, Task.id],
        descending=True,
        convert=[parse_timestamp, uuid.UUID],
    )
    return await hydrate_tasks(session, rows), cursor


# ------------------------------------------------------------------------------ one task


async def get(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    return await session.get(Task, task_id)


async def lock(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    """The task's row ``FOR UPDATE``, re-read (not the identity map's possibly stale copy)."""
    return (
        await session.execute(
            select(Task)
            .where(Task.id == task_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def delete_task(session: AsyncSession, task: Task) -> None:
    await session.execute(
        delete(Task).where(Task.id == task.id).execution_options(synchronize_session=False)
    )
    session.expunge(task)


async def replace_labels(
    session: AsyncSession, task_id: uuid.UUID, label_ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(delete(TaskLabel).where(TaskLabel.task_id == task_id))
    if label_ids:
        await session.execute(
            insert(TaskLabel), [{"task_id": task_id, "label_id": i} for i in label_ids]
        )


# ---------------------------------------------------------------------- a column's tasks


async def set_positions(session: AsyncSession, changed: Sequence[tuple[uuid.UUID, int]]) -> None:
    """Write ``(task id, position)`` pairs in one ``UPDATE ... FROM (VALUES ...)``."""
    if not changed:
        return
    v = values(column("vid", Uuid), column("vpos", Integer), name="v").data(list(changed))
    await session.execute(
        update(Task)
        .where(Task.id == v.c.vid)
        .values(position=v.c.vpos)
        .execution_options(synchronize_session=False)
    )


async def any_in_column(session: AsyncSession, column_id: uuid.UUID) -> bool:
    found = await session.execute(select(Task.id).where(Task.column_id == column_id).limit(1))
    return found.first() is not None


async def in_column(
    session: AsyncSession, column_id: uuid.UUID, *, completed: bool, lock: bool = False
) -> list[Task]:
    """The column's completed (or open) tasks in position order, locked when asked."""
    stmt = (
        select(Task)
        .where(
            Task.column_id == column_id,
            Task.completed_at.is_not(None) if completed else Task.completed_at.is_(None),
        )
        .order_by(Task.position)
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


async def open_of_assignee(
    session: AsyncSession, team_id: uuid.UUID, assignee_id: uuid.UUID
) -> list[Task]:
    """The open tasks of the team assigned to ``assignee_id``, locked (in id order)."""
    stmt = (
        select(Task)
        .where(
            Task.team_id == team_id,
            Task.assignee_id == assignee_id,
            Task.completed_at.is_(None),
        )
        .order_by(Task.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


# ---------------------------------------------------------------------------- history


async def add_activity(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    team_id: uuid.UUID,
    user_id: uuid.UUID | None,
    action: str,
    changes: dict[str, Any],
) -> None:
    await session.execute(
        insert(TaskActivity).values(
            task_id=task_id, team_id=team_id, user_id=user_id, action=action, changes=changes
        )
    )


async def activity_page(
    session: AsyncSession, task_id: uuid.UUID, params: PageParams
) -> tuple[list[TaskActivity], str | None]:
    """The task's history, oldest first."""
    return await paginate(
        session,
        select(TaskActivity).where(TaskActivity.task_id == task_id),
        params,
        keys=[TaskActivity.created_at, TaskActivity.id],
        convert=[parse_timestamp, uuid.UUID],
    )
