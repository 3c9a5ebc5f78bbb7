"""Moving a task within its column or to another column of the same board.

``position`` is the task's index in the target column after the move (past the end: last). The
move holds the locks of both columns (``tasks.tasks.positions``); entering or leaving a done
column completes or reopens the task (``tasks.tasks.completion``). A move that changes nothing
(the same place in the same column) writes nothing: no new version, no history, no event.
"""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.errors import Invalid

from tasks import events, ordering
from tasks.boards import repository as board_repo
from tasks.models import Column, Task
from tasks.tasks import completion, positions
from tasks.tasks import repository as repo
from tasks.tasks.schemas import TaskMove, TaskRead
from tasks.tasks.service import read_task, touch, visible_task


async def move_task(ctx: Context, task_id: uuid.UUID, data: TaskMove) -> TaskRead:
    task = await visible_task(ctx, task_id, "task.write")
    session, actor = ctx.session, ctx.user.id
    target = await board_repo.get_column(session, data.column_id)
    if target is None or target.board_id != task.board_id:
        raise Invalid("The column is not on this task's board.", loc=["body", "column_id"])

    async def work(fresh: Task, cols: dict[uuid.UUID, Column]) -> Task:
        src, dst = cols[fresh.column_id], cols[target.id]
        from_pos = fresh.position
        if src.id == dst.id:
            current = dict(await repo.positions(session, src.id))
            new = ordering.insert_at(list(current), fresh.id, data.position)
            if new.index(fresh.id) == from_pos and ordering.is_dense(current):
                return fresh  # nothing moves
            new_pos = await positions.make_room(session, dst.id, fresh.id, data.position, current)
        else:
            await positions.close_gap(session, src.id, leaving=fresh.id)
            new_pos = await positions.make_room(session, dst.id, fresh.id, data.position)
        before_done = fresh.completed_at
        fresh.column_id = dst.id
        fresh.position = new_pos
        fresh.completed_at = completion.after_move(
            fresh.completed_at, left_done=src.is_done, enters_done=dst.is_done, now=ctx.now()
        )
        await touch(ctx, fresh)
        await events.record_activity(
            session,
            fresh,
            actor=actor,
            action="moved",
            changes={
                "column_id": {"from": src.id, "to": dst.id},
                "position": {"from": from_pos, "to": new_pos},
            },
        )
        await events.task_moved(
            session, fresh, actor=actor, from_column_id=src.id, from_position=from_pos
        )
        await completion.record(ctx, fresh, before_done)
        return fresh

    moved = await positions.under_column_locks(session, task, {target.id}, work)
    return await read_task(ctx, moved.id)
