"""The sweeper: bytes are removed after their row says so, never before.

A user's delete (or a team's) marks the row ``deleted`` in the transaction that announces it; an
upload that crashed leaves a ``pending`` row. Each tick claims such rows (``FOR UPDATE SKIP
LOCKED``: two replicas never take the same row), removes their bytes, then the rows, in one unit
of work. A crash after the bytes and before the commit leaves the row, and the next tick removes
the (already absent) bytes again: deleting is idempotent. So there are never bytes without a row.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from vc_common.context import Context

from files.files import repository as repo
from files.files.service import settings_of, stale_before
from files.models import PENDING
from files.storage import Storage

log = logging.getLogger("files.sweeper")


class StorageRef:
    """The app's storage, known once it has started (jobs are built before)."""

    def __init__(self) -> None:
        self._storage: Storage | None = None

    def set(self, storage: Storage | None) -> None:
        self._storage = storage

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            raise RuntimeError("the storage is not open")
        return self._storage


async def sweep(ctx: Context, storage: Storage) -> int:
    s = settings_of(ctx)
    rows = await repo.claim_sweep(
        ctx.session, stale_before(s, ctx.now()), limit=s.files_sweep_batch
    )
    for f in rows:
        await storage.delete(f.storage_key, incomplete=f.state == PENDING)
        if f.state == PENDING and f.team_id is not None:  # an abandoned upload's reservation
            await repo.lock_usage(ctx.session, f.team_id)
            await repo.add_usage(ctx.session, f.team_id, -f.size)
        await repo.remove(ctx.session, f.id)
    if rows:
        log.info("swept %d files", len(rows))
    return len(rows)


def sweeper(ref: StorageRef) -> Callable[[Context], Awaitable[int]]:
    async def run(ctx: Context) -> int:
        return await sweep(ctx, ref.storage)

    return run
