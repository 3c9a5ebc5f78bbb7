"""Moving a task within its column or to another column of the same board.

``position`` is the task's index in the target column after the move (past the end: last). The
move holds the locks of the column it leaves and of the one it enters
(``tasks.tasks.positions.with_places_locked``), then in one statement reads its place and locks
the task's row (``tasks.tasks.positions.place_locked``), so the indexes it announces are those
of one moment that no other move of those columns overlaps. It writes the task's row only (its
column, rank, version), with its history and its events in the same statement, and answers from
the row it locked (``tasks.tasks.repository.write_move``, ``answer``): under the columns' locks,
three round trips (place and row, write, commit). Entering or leaving a done column
completes or reopens the task (``tasks.tasks.completion``). A move that changes nothing (the
same place in the same column) writes nothing: no new version, no history, no event.
"""

from __future__ import annotations

import uuid
from typing import Any

from vc_common.context import Context
from vc_common.errors import Invalid, NotFound

from tasks import events
from tasks.tasks import completion, positions
from tasks.tasks import repository as repo
from tasks.tasks.schemas import TaskMove, TaskRead
from tasks.tasks.service import TASK_NOT_FOUND


async def move_task(ctx: Context, task_id: uuid.UUID, data: TaskMove) -> TaskRead:
    session, actor = ctx.session, ctx.user.id
    found_ref = await repo.ref(session, task_id)  # no ORM object: the row is re-read locked
    if found_ref is None:
        raise NotFound(TASK_NOT_FOUND)
    team_id, board_id, seen_in = found_ref
    await ctx.authorize(team_id, "task.write", not_found=TASK_NOT_FOUND)
    dst_id = data.column_id

    async def place(
        columns: dict[uuid.UUID, Any], src: uuid.UUID
    ) -> tuple[tuple[dict[uuid.UUID, Any], repo.SlotLocked, int | None], uuid.UUID]:
        dst = columns.get(dst_id)
        if dst is None or dst["board_id"] != board_id:
            raise Invalid("The column is not on this task's board.", loc=["body", "column_id"])
        placed = await positions.place_locked(session, dst_id, data.position, task_id, src)
        if placed is None:
            raise NotFound(TASK_NOT_FOUND)
        got, rank = placed
        return (columns, got, rank), got.locked.task.column_id  # not src: it moved, again

    columns, placed, rank = await positions.with_places_locked(session, seen_in, {dst_id}, place)
    locked = placed.locked
    assert rank is not None  # the task is in the column locked for it (with_places_locked)
    fresh = locked.task
    from_column_id = fresh.column_id  # the column locked for it: nothing enters or leaves it
    # its index there, read under that column's lock: only this move can change it until commit
    from_pos, left_done = placed.position, bool(columns[from_column_id]["is_done"])
    enters_done = bool(columns[dst_id]["is_done"])
    new_pos = placed.slot.at
    if from_column_id == dst_id and new_pos == from_pos:
        return repo.answer(locked, from_pos)  # nothing moves
    before_done, now = fresh.completed_at, ctx.now()
    fresh.column_id = dst_id
    fresh.rank = rank
    fresh.completed_at = completion.after_move(
        fresh.completed_at, left_done=left_done, enters_done=enters_done, now=now
    )
    fresh.version += 1
    fresh.updated_at = now
    changes = {
        "column_id": {"from": from_column_id, "to": dst_id},
        "position": {"from": from_pos, "to": new_pos},
    }
    kind, payload = events.moved(
        fresh, actor=actor, from_column_id=from_column_id, from_position=from_pos, position=new_pos
    )
    steps = [
        completion.Step("moved", changes, kind, payload),
        *completion.steps(fresh, before_done, actor=actor, now=now),
    ]
    await repo.write_move(
        session,
        fresh,
        actor=actor,
        source=events.SOURCE,
        steps=[
            (s.action, events.jsonable(s.changes), s.type, events.jsonable(s.data)) for s in steps
        ],
    )
    return repo.answer(locked, new_pos)
