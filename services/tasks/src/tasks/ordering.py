"""Dense ordering: positions (tasks in a column) and orders (columns in a board) are 0..n-1.

Callers hold the lock that guards the sequence (the column rows for tasks, the board row for
columns) before reading it, so two writers never renumber the same sequence at once. The unique
constraints on (column_id, position) and (board_id, order) are DEFERRABLE INITIALLY DEFERRED:
the renumbering UPDATE may pass through duplicates, the commit may not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Uuid, column, update, values
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


def insert_at(ids: Sequence[uuid.UUID], item: uuid.UUID, index: int | None) -> list[uuid.UUID]:
    """``ids`` with ``item`` inserted at ``index`` (clamped; ``None`` appends)."""
    out = [i for i in ids if i != item]
    at = len(out) if index is None else max(0, min(index, len(out)))
    out.insert(at, item)
    return out


async def renumber(
    session: AsyncSession,
    model: Any,
    pos_attr: InstrumentedAttribute[int],
    ids: Sequence[uuid.UUID],
    current: dict[uuid.UUID, int],
) -> None:
    """Give ``ids`` the positions 0..n-1 in one UPDATE, touching only rows that change.

    ``current`` maps an id to its present position (absent: always written)."""
    changed = [(i, p) for p, i in enumerate(ids) if current.get(i) != p]
    if not changed:
        return
    v = values(column("vid", Uuid), column("vpos", Integer), name="v").data(changed)
    stmt = (
        update(model)
        .where(model.id == v.c.vid)
        .values({pos_attr.key: v.c.vpos})
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)
