"""All SQL about tasks. Answers are assembled in a fixed number of statements: one for the tasks
with their positions and subtask counts (correlated aggregates, or a window over the board), one
for their labels, whatever their number.

A task's ``position`` is not stored: it is its index in its column in ``rank`` order, computed
here (``row_number()`` over a board's columns, or how many tasks of the column rank before it),
on the unique index (column_id, rank)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Select,
    Uuid,
    and_,
    any_,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from vc_common.db import Prepared, PreparedWrite
from vc_common.events.outbox import PreparedChangeWithEvents
from vc_common.ids import uuid7
from vc_common.pagination import PageParams, paginate

from tasks.cursors import parse_timestamp
from tasks.labels.schemas import LabelRead
from tasks.models import Label, Subtask, Task, TaskActivity, TaskLabel, event_tables
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


_before = aliased(Task, name="before")
# the task's index in its column: how many of the column's tasks rank before it
_position = (
    select(func.count(_before.id))
    .where(_before.column_id == Task.column_id, _before.rank < Task.rank)
    .correlate(Task)
    .scalar_subquery()
    .label("position")
)
# the same over whole columns at once (a board's answer reads them all)
_position_on_board = (
    func.row_number().over(partition_by=Task.column_id, order_by=Task.rank) - 1
).label("position")


_t, _tl, _l = Task.__table__, TaskLabel.__table__, Label.__table__
_a = TaskActivity.__table__
# tasks' answers are read with prepared statements (``vc_common.db.Prepared``: through the ORM
# a one-row read's statements were most of its CPU, and a board's 500 ORM objects most of its
# answer's): the cards (one, a board's, a page's), then their labels
_cards = select(_t, _position, _subtask_total, _subtask_done)
_card = Prepared(_cards.where(_t.c.id == bindparam("task_id")))
_cards_of_ids = Prepared(_cards.where(_t.c.id == any_(bindparam("ids", type_=ARRAY(Uuid)))))
_board_cards = Prepared(
    select(_t, _position_on_board, _subtask_total, _subtask_done)
    .where(_t.c.board_id == bindparam("board_id"))
    .order_by(_t.c.column_id, _t.c.rank)
)
_labels = select(_tl.c.task_id, _l).join_from(_tl, _l, _l.c.id == _tl.c.label_id)
_by_name = (_l.c.name, _l.c.id)
_labels_of_one = Prepared(_labels.where(_tl.c.task_id == bindparam("task_id")).order_by(*_by_name))
_labels_of_ids = Prepared(
    _labels.where(_tl.c.task_id == any_(bindparam("ids", type_=ARRAY(Uuid)))).order_by(*_by_name)
)
_labels_of_board = Prepared(
    _labels.join(_t, _t.c.id == _tl.c.task_id)
    .where(_t.c.board_id == bindparam("board_id"))
    .order_by(*_by_name)
)


def _labels_by_task(rows: Sequence[Any]) -> dict[uuid.UUID, list[LabelRead]]:
    out: dict[uuid.UUID, list[LabelRead]] = defaultdict(list)
    for r in rows:
        out[r["task_id"]].append(LabelRead(**r))  # a label's columns, and its task_id
    return out


def _from_card(r: Any, labels: list[LabelRead]) -> TaskRead:
    return TaskRead(
        id=r["id"],
        title=r["title"],
        description=r["description"],
        column_id=r["column_id"],
        board_id=r["board_id"],
        team_id=r["team_id"],
        assignee_id=r["assignee_id"],
        priority=r["priority"],
        due_date=r["due_date"],
        position=r["position"],
        is_completed=r["completed_at"] is not None,
        completed_at=r["completed_at"],
        version=r["version"],
        created_by_id=r["created_by_id"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        labels=labels,
        subtask_count=r["subtask_count"],
        subtasks_completed=r["subtasks_completed"],
    )


async def hydrate_tasks(session: AsyncSession, tasks: Sequence[Task]) -> list[TaskRead]:
    """Plain tasks (a page of a list) to ``TaskRead``, in their order: two statements, the
    cards (positions, subtask counts) and their labels."""
    ids = [t.id for t in tasks]
    if not ids:
        return []
    cards = {r["id"]: r for r in await _cards_of_ids.all(session, ids=ids)}
    labels = _labels_by_task(await _labels_of_ids.all(session, ids=ids))
    return [_from_card(cards[i], labels.get(i, [])) for i in ids]


async def read_one(session: AsyncSession, task_id: uuid.UUID) -> TaskRead | None:
    r = await _card.first(session, task_id=task_id)
    if r is None:
        return None
    labels = _labels_by_task(await _labels_of_one.all(session, task_id=task_id))
    return _from_card(r, labels.get(r["id"], []))


async def of_board(session: AsyncSession, board_id: uuid.UUID) -> list[TaskRead]:
    rows = await _board_cards.all(session, board_id=board_id)
    if not rows:
        return []
    labels = _labels_by_task(await _labels_of_board.all(session, board_id=board_id))
    return [_from_card(r, labels.get(r["id"], [])) for r in rows]


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


# a task's labels as one JSON value, for a move's locked row (:func:`slot_locked`): after a move
# the answer is that row with its new place, no statement more
_labels_json = (
    select(
        func.coalesce(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_object(
                        "id",
                        _l.c.id,
                        "name",
                        _l.c.name,
                        "color",
                        _l.c.color,
                        "team_id",
                        _l.c.team_id,
                    ),
                    *_by_name,
                )
            ),
            literal_column("'[]'::json"),
        )
    )
    .select_from(_tl.join(_l, _l.c.id == _tl.c.label_id))
    .where(_tl.c.task_id == _t.c.id)
    .correlate(_t)
    .scalar_subquery()
    .label("labels")
)


class Locked(NamedTuple):
    """A task's row locked ``FOR UPDATE``: the task (not tracked by the session) and its row."""

    task: Task
    row: Any


_task_columns = tuple(c.key for c in _t.columns)


def answer(locked: Locked, position: int) -> TaskRead:
    """The answer of a task moved after :func:`slot_locked`: its row with its new place."""
    task, row = locked
    card = {**row, **{k: getattr(task, k) for k in _task_columns}, "position": position}
    return _from_card(card, [LabelRead(**label) for label in row["labels"]])


def _move_statement(steps: int) -> PreparedChangeWithEvents:
    """A move's writes in one statement: the task's place, completion, version and
    ``updated_at``; its ``steps`` history rows; their ``steps`` events (after the ORM's flush,
    an ORM insert of the history and an outbox insert, this was four to six statements)."""
    placed = (
        update(Task)
        .where(_t.c.id == bindparam("task_id", type_=Uuid))
        .values(
            column_id=bindparam("column_id", type_=Uuid),
            rank=bindparam("rank", type_=BigInteger),
            completed_at=bindparam("completed_at", type_=_t.c.completed_at.type),
            version=bindparam("version", type_=_t.c.version.type),
            updated_at=bindparam("updated_at", type_=_t.c.updated_at.type),
        )
        .returning(_t.c.id)
        .cte("placed")
    )
    rows = [
        select(
            bindparam(f"h{i}_id", type_=Uuid),
            placed.c.id,
            bindparam("team_id", type_=Uuid),
            bindparam("user_id", type_=Uuid),
            bindparam(f"h{i}_action", type_=_a.c.action.type),
            bindparam(f"h{i}_changes", type_=_a.c.changes.type),
        ).select_from(placed)
        for i in range(steps)
    ]
    history = insert(TaskActivity).from_select(
        ["id", "task_id", "team_id", "user_id", "action", "changes"],
        union_all(*rows) if steps > 1 else rows[0],
    )
    return PreparedChangeWithEvents(
        event_tables, select(placed.c.id).add_cte(history.cte("history")), steps
    )


_MOVES = {n: _move_statement(n) for n in (1, 2)}


async def write_move(
    session: AsyncSession,
    task: Task,
    *,
    actor: uuid.UUID,
    source: str,
    steps: Sequence[tuple[str, dict[str, Any], str, dict[str, Any]]],
) -> None:
    """Write a moved task's place (column, rank), completion, version and ``updated_at``, and
    each of ``steps`` (its history row's action and changes, its event's type and data, JSON
    ready) in one prepared statement."""
    params: dict[str, Any] = {
        "task_id": task.id,
        "column_id": task.column_id,
        "rank": task.rank,
        "completed_at": task.completed_at,
        "version": task.version,
        "updated_at": task.updated_at,
        "team_id": task.team_id,
        "user_id": actor,
    }
    for i, (action, changes, _, _) in enumerate(steps):
        params[f"h{i}_id"] = uuid7()
        params[f"h{i}_action"] = action
        params[f"h{i}_changes"] = changes
    _, rows = await _MOVES[len(steps)].execute(
        session,
        params,
        source=source,
        events=[(kind, task.id, data) for _, _, kind, data in steps],
    )
    if not rows:
        raise NoResultFound(f"task {task.id} is gone")


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


class Slot(NamedTuple):
    """Where a task entering a column (or moving inside it) at some index goes."""

    at: int  # its index there (the requested one, clamped to the column's length)
    before: int | None  # the rank of the task it follows (None: it goes first)
    after: int | None  # the rank of the task it precedes (None: it goes last)


def _slot_statement(index: str | None, *, lock: bool) -> Prepared:
    """The statement of :func:`slot` (``lock``: of :func:`slot_locked`) for an index that is
    ``None`` (last), ``"first"`` or ``"k"`` (a bound offset): built and prepared once each
    (building it was ~1 ms of CPU a move).

    The neighbours are read from the column's other tasks (the task left out of its sequence).
    With ``lock`` the statement is the task's row ``FOR UPDATE OF`` tasks, with its subtask
    counts, its labels and its index in the column it is in (correlated to the locked row), the
    neighbours beside them: a move under its columns' locks has its place and its locked row in
    one round trip."""
    column_id, task_id = bindparam("column_id", type_=Uuid), bindparam("task_id", type_=Uuid)
    o = _t.alias("o")  # the column's tasks, never correlated to the locked row's table
    others = [o.c.column_id == column_id, o.c.id != task_id]

    def nth(k: str) -> Any:
        return (
            select(o.c.rank)
            .where(*others)
            .order_by(o.c.rank)
            .offset(bindparam(k, type_=BigInteger))
            .limit(1)
        ).scalar_subquery()

    neighbours = (
        select(func.count(o.c.id)).where(*others).scalar_subquery().label("slot_count"),
        select(func.max(o.c.rank)).where(*others).scalar_subquery().label("slot_last"),
        (nth("before") if index == "k" else null()).label("slot_before"),
        (nth("after") if index is not None else null()).label("slot_after"),
    )
    if not lock:
        return Prepared(select(*neighbours))
    return PreparedWrite(
        select(_t, _subtask_total, _subtask_done, _labels_json, _position, *neighbours)
        .where(_t.c.id == task_id)
        .with_for_update(of=_t)
    )


_SLOT = {i: _slot_statement(i, lock=False) for i in (None, "first", "k")}
_SLOT_LOCKED = {i: _slot_statement(i, lock=True) for i in (None, "first", "k")}


def _slot_params(column_id: uuid.UUID, index: int | None, task_id: uuid.UUID) -> dict[str, Any]:
    ids: dict[str, Any] = {"column_id": column_id, "task_id": task_id}
    if index is None:
        return ids
    if index == 0:
        return {**ids, "after": 0}
    return {**ids, "before": index - 1, "after": index}


def _key(index: int | None) -> str | None:
    return None if index is None else "first" if index == 0 else "k"


def _slot_of(row: Any, index: int | None) -> Slot:
    count, last, before, after = (
        int(row["slot_count"]),
        row["slot_last"],
        row["slot_before"],
        row["slot_after"],
    )
    if index is None or after is None:  # last (asked for, or past the end)
        return Slot(count, last, None)
    return Slot(index, before, after)


async def slot(
    session: AsyncSession, column_id: uuid.UUID, index: int | None, task_id: uuid.UUID
) -> Slot:
    """The neighbours of index ``index`` (``None``: last) in the column for task ``task_id``,
    leaving it out of the column's sequence; one statement, no lock (a create: the task has no
    row yet)."""
    row = await _SLOT[_key(index)].one(session, **_slot_params(column_id, index, task_id))
    return _slot_of(row, index)


class SlotLocked(NamedTuple):
    """:func:`slot_locked`'s answer."""

    slot: Slot
    locked: Locked  # the task's row, locked; ``locked.task.column_id``: the column it is in
    position: int  # its index in that column


async def slot_locked(
    session: AsyncSession, column_id: uuid.UUID, index: int | None, task_id: uuid.UUID
) -> SlotLocked | None:
    """:func:`slot`, and in the same statement the task's row ``FOR UPDATE`` read afresh (a
    ``Task`` the session does not track: no identity map, no flush, its new place is written by
    :func:`write_move`) with its subtask counts and labels (:func:`answer`), and its index in
    the column it is in; None when the task is gone.

    In READ COMMITTED it is right for a caller holding the locks of the task's column and of
    ``column_id`` (``tasks.tasks.positions``), taken by an earlier statement: this statement's
    snapshot is taken after that one returned, so it sees every change of those columns' tasks
    (each holds their locks until it commits). The row's column and rank change only under its
    column's lock: when it is a column the caller holds, the snapshot's rows and the locked one
    agree. A concurrent edit of the task (a title) holds its row's lock: this waits for it and
    PostgreSQL re-reads the row's newest version and computes this row's columns again from it
    (EvalPlanQual); a deleted row yields no row. (Its subtask counts and labels are read in the
    statement's snapshot even then: an edit of its labels that committed while this waited is
    not in the answer, as with the separate lock statement before.) The row may show a column
    the caller does not hold (a move of the task committed in between): the caller then takes
    its locks again."""
    row = await _SLOT_LOCKED[_key(index)].first(session, **_slot_params(column_id, index, task_id))
    if row is None:
        return None
    task = Task(**{k: row[k] for k in _task_columns})
    return SlotLocked(_slot_of(row, index), Locked(task, row), int(row["position"]))


_ref = Prepared(
    select(_t.c.team_id, _t.c.board_id, _t.c.column_id).where(_t.c.id == bindparam("task_id"))
)


async def ref(
    session: AsyncSession, task_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID] | None:
    """The task's team, board and column (no ORM object, no lock: the column is where it was
    then), or None."""
    row = await _ref.first(session, task_id=task_id)
    return None if row is None else (row["team_id"], row["board_id"], row["column_id"])


async def lock_ids_by_rank(
    session: AsyncSession, column_id: uuid.UUID, *, leaving_out: uuid.UUID, keep: bool = False
) -> list[uuid.UUID]:
    """The column's task ids in rank order, without ``leaving_out`` (a task about to enter or
    move inside it), or, ``keep``, with it where it is when it is in the column. The column's
    rows and ``leaving_out``'s, wherever it is, are locked in one statement in id order, the
    order every multi-row lock of tasks takes."""
    rows = (
        await session.execute(
            select(Task.id, Task.rank, Task.column_id)
            .where(or_(Task.column_id == column_id, Task.id == leaving_out))
            .order_by(Task.id)
            .with_for_update()
        )
    ).all()
    mine = [r for r in rows if r[2] == column_id and (keep or r[0] != leaving_out)]
    return [r[0] for r in sorted(mine, key=lambda r: r[1])]


async def set_ranks(
    session: AsyncSession, column_id: uuid.UUID, ranks: Sequence[tuple[uuid.UUID, int]]
) -> None:
    """Write ``(task id, rank)`` pairs of the column in one ``UPDATE ... FROM (VALUES ...)``.
    A task that has left the column meanwhile is left alone; ``updated_at`` is kept (a rank is
    no change a user sees)."""
    if not ranks:
        return
    v = values(column("vid", Uuid), column("vrank", BigInteger), name="v").data(list(ranks))
    await session.execute(
        update(Task)
        .where(Task.id == v.c.vid, Task.column_id == column_id)
        .values(rank=v.c.vrank, updated_at=Task.updated_at)
        .execution_options(synchronize_session=False)
    )


async def any_in_column(session: AsyncSession, column_id: uuid.UUID) -> bool:
    found = await session.execute(select(Task.id).where(Task.column_id == column_id).limit(1))
    return found.first() is not None


async def in_column(
    session: AsyncSession, column_id: uuid.UUID, *, completed: bool, lock: bool = False
) -> list[Task]:
    """The column's completed (or open) tasks in rank order, locked when asked: then in id
    order, the order every multi-row lock of tasks takes (``open_of_assignee``, a rebalance),
    so that two of them never wait on each other's rows; the list is still in rank order."""
    stmt = select(Task).where(
        Task.column_id == column_id,
        Task.completed_at.is_not(None) if completed else Task.completed_at.is_(None),
    )
    if not lock:
        return list((await session.execute(stmt.order_by(Task.rank))).scalars())
    stmt = stmt.order_by(Task.id).with_for_update().execution_options(populate_existing=True)
    return sorted((await session.execute(stmt)).scalars(), key=lambda t: t.rank)


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


_add_activity = PreparedWrite(
    insert(TaskActivity).values(
        {c: bindparam(c) for c in ("id", "task_id", "team_id", "user_id", "action", "changes")}
    )
)


async def add_activity(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    team_id: uuid.UUID,
    user_id: uuid.UUID | None,
    action: str,
    changes: dict[str, Any],
) -> None:
    """One history row, prepared (built per call through the ORM it was ~0.9 ms of CPU)."""
    await _add_activity.all(
        session,
        id=uuid7(),
        task_id=task_id,
        team_id=team_id,
        user_id=user_id,
        action=action,
        changes=changes,
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
