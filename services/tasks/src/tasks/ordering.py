"""Dense ordering: positions (tasks in a column) and orders (columns in a board) are 0..n-1.

Only arithmetic lives here; the repositories write the result (``tasks.tasks.repository.
set_positions``, ``tasks.boards.repository.set_orders``) in one ``UPDATE ... FROM (VALUES ...)``.
Callers hold the lock that guards the sequence (the column rows for tasks, the board row for
columns) before reading it, so two writers never renumber the same sequence at once. The unique
constraints on (column_id, position) and (board_id, order) are DEFERRABLE INITIALLY DEFERRED:
the renumbering UPDATE may pass through duplicates, the commit may not.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence


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


def is_dense(current: Mapping[uuid.UUID, int]) -> bool:
    return sorted(current.values()) == list(range(len(current)))
