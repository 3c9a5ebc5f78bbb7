"""Ordering arithmetic, nothing else: columns in a board are dense (``order`` 0..n-1), tasks in a
column are sparse (``rank``, a bigint with gaps).

Columns are few: changing their sequence renumbers it (``insert_at``, ``changes``), and the board
repository writes the result in one ``UPDATE ... FROM (VALUES ...)`` under the board row's lock.

Tasks are many and move often: a task entering a column between two neighbours takes a rank
between theirs (``rank_between``), so a move writes its own row only. When there is no integer
left between the two (about 32 inserts into the same gap, since fresh ranks are ``RANK_GAP``
apart) the caller rebalances that one column (``spread``). The API's ``position`` is the index
in rank order, computed when reading. The unique constraint on (column_id, rank) is DEFERRABLE:
the rebalancing UPDATE may pass through duplicates, the end of the statement may not.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

RANK_GAP = 1 << 32
# the bigint range, kept one gap away from its ends so that ``prev + RANK_GAP`` never overflows
RANK_MIN = -(1 << 63) + RANK_GAP
RANK_MAX = (1 << 63) - 1 - RANK_GAP


def insert_at(ids: Sequence[uuid.UUID], item: uuid.UUID, index: int | None) -> list[uuid.UUID]:
    """``ids`` with ``item`` inserted at ``index`` (clamped; ``None`` appends)."""
    out = [i for i in ids if i != item]
    at = len(out) if index is None else max(0, min(index, len(out)))
    out.insert(at, item)
    return out


def changes(
    ids: Sequence[uuid.UUID], current: Mapping[uuid.UUID, int]
) -> list[tuple[uuid.UUID, int]]:
    """The ``(id, index)`` pairs that give ``ids`` the positions 0..n-1, leaving out the ids
    already there (``current``: an id's present position; absent: always written)."""
    return [(i, p) for p, i in enumerate(ids) if current.get(i) != p]


def rank_between(before: int | None, after: int | None) -> int | None:
    """A rank strictly between the neighbours' (``None``: no neighbour on that side), or
    ``None`` when there is none left and the column must be rebalanced first."""
    if before is None:
        if after is None:
            return 0
        return after - RANK_GAP if after - RANK_GAP >= RANK_MIN else None
    if after is None:
        return before + RANK_GAP if before + RANK_GAP <= RANK_MAX else None
    if after - before < 2:
        return None
    return before + (after - before) // 2


def spread(ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, int]]:
    """Fresh ranks for a column's tasks in this order: ``RANK_GAP`` apart, from 0."""
    return [(i, n * RANK_GAP) for n, i in enumerate(ids)]
