"""Where a task sits in its column: a sparse ``rank`` (``tasks.ordering``); its ``position`` is its
index in rank order, computed when reading (``tasks.tasks.repository``).

Placing a task (a create, or a move into a column or within it) first locks the column it enters
(the column row, ``FOR UPDATE``, until commit), then finds its neighbours at the index asked and
takes a rank between theirs: one row written, the task's own. Two tasks entering one column
therefore choose their ranks one after the other: two moves to the same place both land, the
later one at the index asked and the earlier one just after it. Leaving a column (a move out, a
delete) changes no other row, so it takes no column lock, only the task's row lock.

When the neighbours' ranks leave no integer between them, the entering task rebalances that one
column (``rebalance``) before taking its rank: still under the column's lock, so no other task
enters meanwhile. It first locks the column's rows and the entering task's in id order (the order
every multi-row lock of tasks takes), so it waits for a task moving out or being edited but does
not deadlock with them; a task that left meanwhile is left out, and keeps its rank elsewhere.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tasks import ordering
from tasks.tasks import repository as repo


async def place(
    session: AsyncSession, column_id: uuid.UUID, index: int | None, task_id: uuid.UUID
) -> tuple[repo.Slot, int]:
    """Where task ``task_id`` goes entering (or moving inside) the column at ``index`` (``None``,
    or past the end: last), and the rank it takes there. The caller holds the column's lock and
    writes the rank on the task; the only other rows this may write are the column's, on a
    rebalance (which gives the task, when it is in the column, its new rank already)."""
    found = await repo.slot(session, column_id, index, task_id)
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
