"""One replica consumes at a time: the one holding a PostgreSQL advisory lock.

Both replicas pulling the same durable consumer would apply different batches at once, and the
stream's commit order could then swap two events of one subject (a task moved twice would
show its older column last). So :class:`LeaderConsumer` consumes only while it holds the
session-level advisory lock ``realtime-stream`` on a connection of its own (autocommit, checked
every few seconds); the other replica waits, trying every second, and takes over when the
leader's connection goes (a crash closes it; the broker redelivers what the old leader had not
acknowledged). Inside the leader, batches from the per-context pull loops are applied one at a
time, so its transactions, and the stream's seqs, follow delivery order. The RabbitMQ queues
are single-active-consumer already; the lock changes nothing there but the standby's idle wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import text
from vc_common.db import Database
from vc_common.events.bus import Delivery, EventBus
from vc_common.events.consumer import Consumer

log = logging.getLogger("realtime.leader")

LOCK_KEY = 0x7265616C74696D65  # "realtime"
LOCK_KEY_SQL = text("SELECT pg_try_advisory_lock(:k)")
PROBE_SQL = text("SELECT 1")


def covers(wide: str, narrow: str) -> bool:
    """Every event type ``narrow`` matches, ``wide`` matches too (NATS subject tokens)."""
    w, n = wide.split("."), narrow.split(".")
    for i, tok in enumerate(w):
        if tok == ">":
            return len(n) > i
        if i >= len(n) or n[i] == ">" or (tok != "*" and tok != n[i]):
            return False
    return len(n) == len(w)


class LeaderConsumer(Consumer):
    """Handlers on specific types (the projection's ``teams.member.added``) and the stream's
    ``teams.>`` overlap; JetStream refuses a consumer whose filter subjects overlap, so the
    broker is given only the widest patterns (handlers still match by type)."""

    @property
    def patterns(self) -> tuple[str, ...]:
        every = super().patterns
        return tuple(p for p in every if not any(q != p and covers(q, p) for q in every))

    def __init__(self, name: str, *, standby_poll: float = 1.0, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.standby_poll = standby_poll
        self.leading = False
        self._lock = asyncio.Lock()

    async def process(self, db: Database, deliveries: list[Delivery]) -> None:
        async with self._lock:  # one batch at a time, whichever context stream it came from
            await super().process(db, deliveries)

    async def run(self, db: Database, bus: EventBus) -> None:
        while True:
            try:
                await self._lead(db, bus)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("stream leadership lost; trying again", exc_info=True)
            self.leading = False
            await asyncio.sleep(self.standby_poll)

    async def _lead(self, db: Database, bus: EventBus) -> None:
        raw = await db.engine.connect()
        try:
            conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
            while True:
                if (await conn.execute(LOCK_KEY_SQL, {"k": LOCK_KEY})).scalar():
                    break
                await asyncio.sleep(self.standby_poll)
            log.info("consumer %s: this replica leads the stream", self.name)
            self.leading = True
            consume = asyncio.create_task(super().run(db, bus), name=f"lead-{self.name}")
            try:
                while not consume.done():
                    await asyncio.wait([consume], timeout=3.0)
                    if not consume.done():
                        await conn.execute(PROBE_SQL)  # raises when the lock's connection died
                consume.result()
            finally:
                consume.cancel()
                with contextlib.suppress(BaseException):
                    await consume
        finally:
            self.leading = False
            # closed, not returned to the pool: the session's advisory lock goes with it, so
            # the standby takes over at once when this replica stops
            with contextlib.suppress(BaseException):
                await raw.invalidate()
            with contextlib.suppress(BaseException):
                await raw.close()
