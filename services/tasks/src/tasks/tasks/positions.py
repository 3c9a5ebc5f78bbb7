"""Where a task sits in its column: a sparse ``rank`` (``tasks.ordering``); its ``position`` is its
index in rank order, computed when reading (``tasks.tasks.repository``).

Placing a task (a create, or a move into a column or within it) first locks the column it enters
(the column row, ``FOR UPDATE``, until commit), then finds its neighbours at the index asked and
takes a rank between theirs: one row written, the task's own. Two tasks entering one column
therefore choose their ranks one after the other: two moves to the same place both land, the
later one at the index asked and the earlier one just after it.

Leaving a column (a move out, a delete) changes no other row either, but it changes the index of
every task after it, so it takes the column's lock too: a move locks the column it leaves and the
one it enters in one statement, in id order (:func:`with_places_locked`). Without it, a task
entering column B while another left B computed its index before the other's commit and
announced it after (``position`` one too many in ``tasks.task.moved``, and in the answer), and
the same for ``from_position`` of two tasks leaving one column: a client replaying the events put
the card at the wrong place. The column a task leaves is known only from its row, which may
change before the lock is taken; :func:`with_places_locked` takes the locks under a savepoint
and, when the task moved meanwhile, rolls back to it (which releases those locks) and takes them
again.

A move reads its place and locks the task's row in one statement, after its columns' locks
(:func:`place_locked`, ``tasks.tasks.repository.slot_locked``), so that under them it makes three
round trips: that one, its write, the commit.

When the neighbours' ranks leave no integer between them, the entering task rebalances that one
column: still under the column's lock, so no other task enters meanwhile. The rebalance locks
the column's rows and the entering task's in id order (the order every multi-row lock of tasks
takes: ``open_of_assignee``, ``in_column``), so it waits for a task being edited but does not
deadlock with it. A create (:func:`place`) holds no task row then and rebalances at once
(``rebalance``). A move already holds the task's row, which it locked before the column's rows:
locking them then would take them out of id order (a ``open_of_assignee`` holding one of them
with a smaller id, waiting for the task's row, would deadlock with it). So it raises
:class:`Respread` instead: :func:`with_places_locked` rolls back to its savepoint (which releases
the task's row with the columns' locks), takes the columns' locks again, spreads the column's
ranks keeping every task where it is (the rows locked in id order, the task's with them:
``respread``), and runs the move again, which finds room.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.errors import ServiceUnavailable

from tasks import ordering
from tasks.boards import repository as board_repo
from tasks.tasks import repository as repo

_SAVEPOINT = text("SAVEPOINT task_places")
_RELEASE = text("ROLLBACK TO SAVEPOINT task_places")
#: how many times a move or a delete takes its locks again for a task that keeps changing
#: columns under it (each time, another move of the same task committed in between)
ATTEMPTS = 8

T = TypeVar("T")


class Respread(Exception):
    """No integer rank is left at the place asked in column ``column_id`` for task ``task_id``,
    whose row is already locked: :func:`with_places_locked` spreads the column's ranks, in id
    order, after rolling back to its savepoint, and runs its body again."""

    def __init__(self, column_id: uuid.UUID, task_id: uuid.UUID) -> None:
        super().__init__(column_id, task_id)
        self.column_id, self.task_id = column_id, task_id


async def with_places_locked(
    session: AsyncSession,
    first_seen: uuid.UUID,
    also: set[uuid.UUID],
    body: Callable[[dict[uuid.UUID, Any], uuid.UUID], Awaitable[tuple[T, uuid.UUID]]],
) -> T:
    """Run ``body`` holding the locks of the task's column (``first_seen``: where it was when
    read without a lock) and of the columns ``also``, all taken in id order in one statement.
    ``body`` gets those columns (id -> record) and the one locked for the task, locks the task
    and answers its result and the column the task is in. When that is not the column locked
    for it (a move of the task committed in between), rolling back to a savepoint taken before
    the locks releases them and undoes what ``body`` wrote, and the locks are taken again with
    the task's new column. When ``body`` raises :class:`Respread`, the same rollback, then the
    locks again, then the column spread (``respread``), then ``body`` again."""
    await session.execute(_SAVEPOINT)
    src = first_seen
    spread: Respread | None = None
    for _ in range(ATTEMPTS):
        columns = await board_repo.lock_column_rows(session, {src, *also})
        if spread is not None and spread.column_id in columns:
            await respread(session, spread.column_id, spread.task_id)
        spread = None
        try:
            result, now_in = await body(columns, src)
        except Respread as out_of_room:
            spread, now_in = out_of_room, src
        else:
            if now_in == src:
                return result
        await session.execute(_RELEASE)
        src = now_in
    raise ServiceUnavailable(
        "The task kept moving while this change waited; retry.", headers={"Retry-After": "1"}
    )


async def place(
    session: AsyncSession, column_id: uuid.UUID, index: int | None, task_id: uuid.UUID
) -> tuple[repo.Slot, int]:
    """Where new task ``task_id`` goes entering the column at ``index`` (``None``, or past the
    end: last), and the rank it takes there. The caller holds the column's lock and writes the
    rank on the task; the only other rows this may write are the column's, on a rebalance."""
    found = await repo.slot(session, column_id, index, task_id)
    rank = ordering.rank_between(found.before, found.after)
    if rank is None:
        rank = await rebalance(session, column_id, found.at, task_id)
    return found, rank


async def place_locked(
    session: AsyncSession,
    column_id: uuid.UUID,
    index: int | None,
    task_id: uuid.UUID,
    leaving: uuid.UUID,
) -> tuple[repo.SlotLocked, int | None] | None:
    """Where task ``task_id``, in column ``leaving`` (or moving inside ``column_id``), goes
    entering ``column_id`` at ``index``, the rank it takes there, and its row locked with its
    index where it is, in one statement (``repo.slot_locked``); None when it is gone. The
    caller holds both columns' locks (:func:`with_places_locked`); when the row says the task
    is in another column, it takes them again (no rank then). No integer left at that place:
    :class:`Respread`. It writes nothing: the caller writes the task's rank."""
    got = await repo.slot_locked(session, column_id, index, task_id)
    if got is None:
        return None
    rank = ordering.rank_between(got.slot.before, got.slot.after)
    if rank is None and got.locked.task.column_id == leaving:
        raise Respread(column_id, task_id)
    return got, rank  # the rank is None only when the task is no longer in ``leaving``


async def rebalance(
    session: AsyncSession, column_id: uuid.UUID, index: int, task_id: uuid.UUID
) -> int:
    """Spread the column's ranks evenly again, keeping their order, with room at ``index`` for
    task ``task_id``; returns the rank kept for it there."""
    others = await repo.lock_ids_by_rank(session, column_id, leaving_out=task_id)
    order = [*others[:index], task_id, *others[index:]]
    ranks = ordering.spread(order)
    await repo.set_ranks(session, column_id, ranks)
    return ranks[index][1]


async def respread(session: AsyncSession, column_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Spread the column's ranks evenly again, every task where it is (task ``task_id`` too,
    when it is in the column): its rows and the task's locked in id order first."""
    order = await repo.lock_ids_by_rank(session, column_id, leaving_out=task_id, keep=True)
    await repo.set_ranks(session, column_id, ordering.spread(order))
