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

When the neighbours' ranks leave no integer between them, the entering task rebalances that one
column (``rebalance``) before taking its rank: still under the column's lock, so no other task
enters meanwhile. It first locks the column's rows and the entering task's in id order (the order
every multi-row lock of tasks takes), so it waits for a task being edited but does not deadlock
with it.
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
    the task's new column."""
    await session.execute(_SAVEPOINT)
    src = first_seen
    for _ in range(ATTEMPTS):
        columns = await board_repo.lock_column_rows(session, {src, *also})
        result, now_in = await body(columns, src)
        if now_in == src:
            return result
        await session.execute(_RELEASE)
        src = now_in
    raise ServiceUnavailable(
        "The task kept moving while this change waited; retry.", headers={"Retry-After": "1"}
    )


async def place(
    session: AsyncSession,
    column_id: uuid.UUID,
    index: int | None,
    task_id: uuid.UUID,
    leaving: uuid.UUID | None = None,
) -> tuple[repo.Slot, int]:
    """Where task ``task_id`` goes entering (or moving inside) the column at ``index`` (``None``,
    or past the end: last), and the rank it takes there. The caller holds the column's lock and
    writes the rank on the task; the only other rows this may write are the column's, on a
    rebalance (which gives the task, when it is in the column, its new rank already)."""
    found = await repo.slot(session, column_id, index, task_id, leaving)
    rank = ordering.rank_between(found.before, found.after)
    if rank is None:
        rank = await rebalance(session, column_id, found.at, task_id)
    return found, rank


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
