"""The overlaps that keep broker and database round trips from adding up, on real brokers: the
relay claims and publishes its next batch while the previous one's marks commit. And what any
overlap on the consuming side must keep (a NATS fetch-ahead was measured and not merged, see
bench/RESULTS.md; RabbitMQ's prefetch is one): no subject reordered, no acknowledgement before
the commit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pytest
from vc_common.db import Database
from vc_common.events.bus import EventBus, OutgoingMessage
from vc_common.events.envelope import CloudEvent
from vc_common.events.nats import NatsBus, NatsDelivery
from vc_events_kit import (
    Buses,
    effect_rows,
    effects,
    make_consumer,
    relay_for,
    subscribed,
    wait_effects,
    write_events,
)


class FailingOnce:
    """A real bus that refuses one event's first publish (a per-message error: not sent)."""

    def __init__(self, inner: EventBus, subject: str, position: int) -> None:
        self.inner = inner
        self.target = (subject, position)
        self.refused = 0

    @property
    def connected(self) -> bool:
        return self.inner.connected

    def _is_target(self, m: OutgoingMessage) -> bool:
        data = json.loads(m.body)["data"]
        return self.refused == 0 and (m.subject, data["position"]) == self.target

    async def publish_many(
        self, messages: Sequence[OutgoingMessage], *, ack_timeout: float = 5.0
    ) -> list[BaseException | None]:
        refuse = [self._is_target(m) for m in messages]
        ok = [m for m, r in zip(messages, refuse, strict=True) if not r]
        results = iter(await self.inner.publish_many(ok, ack_timeout=ack_timeout))
        out: list[BaseException | None] = []
        for r in refuse:
            if r:
                self.refused += 1
                out.append(ValueError("refused once"))
            else:
                out.append(next(results))
        return out


def _positions(rows: list[Any]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        seen[row.subject].append(row.position)
    return seen


async def test_pipelined_relay_keeps_order_when_a_row_fails_and_a_commit_fails(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    """Full batches back to back (each claimed while the previous one commits): a row the
    broker refused still blocks its subject in the next batch, and a batch whose commit failed
    is published again without any later row of its subjects overtaking it."""
    db = clean_db
    bus = await buses.open()
    consumer = make_consumer(buses, "pipe", [f"{ctx}.item.*"])
    await subscribed(bus, consumer)
    consumer_task = buses.spawn(consumer.run(db, bus))
    subjects = [f"s{i}" for i in range(4)]
    await write_events(db, ctx, subjects, 30, per_tx=20)
    # batches of 10 rows in seq order (s0..s3 round robin): the third holds positions 5-7;
    # s1's position 7 is refused, the last of its subject in that batch, so only the refused
    # row itself can keep position 8 (next batch) from overtaking it
    flaky = FailingOnce(bus, "s1", 7)
    relay = relay_for(db, flaky, ctx, batch_size=10, backoff_base=0.05, listen=False)
    commits = 0
    commit = relay._commit

    async def failing_fifth_commit(session: Any, batch: Any) -> None:
        nonlocal commits
        commits += 1
        if commits == 5:
            await session.close()  # rolled back: its rows are pending again
            raise RuntimeError("the commit was lost")
        await commit(session, batch)

    relay._commit = failing_fifth_commit
    relay.start()
    try:
        await wait_effects(db, consumer, 4 * 30, 60)
        await asyncio.sleep(0.5)  # a late duplicate would show
        rows = await effect_rows(db, consumer)
        assert len(rows) == 4 * 30
        for s, positions in _positions(rows).items():
            assert positions == list(range(30)), f"subject {s} out of order: {positions}"
        assert flaky.refused == 1
        assert commits > 5  # the drain ran pipelined past the lost commit
    finally:
        await relay.stop()
        consumer_task.cancel()
        with contextlib.suppress(BaseException):
            await consumer_task


async def test_a_delivery_is_acknowledged_only_after_its_effect_committed(
    clean_db: Database, buses: Buses, ctx: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a slow commit (a fetch-ahead would fetch meanwhile): every acknowledgement finds its
    event's effect committed (read on another connection), and batches are applied one at a time, in
    order per subject."""
    db = clean_db
    bus = await buses.open()
    consumer = make_consumer(buses, "ackorder", [f"{ctx}.item.*"], batch_size=7)
    await subscribed(bus, consumer)
    early: list[str] = []

    async def committed(event_id: uuid.UUID) -> bool:
        async with db.engine.connect() as conn:
            n = await conn.scalar(
                effects.select()
                .with_only_columns(effects.c.n)
                .where(effects.c.event_id == event_id, effects.c.consumer == consumer.name)
            )
            return n is not None

    if isinstance(bus, NatsBus):
        ack = NatsDelivery.ack

        async def checked_ack(self: NatsDelivery) -> None:
            event = CloudEvent.from_json(self.body)
            if not await committed(event.id):
                early.append(str(event.id))
            await ack(self)

        monkeypatch.setattr(NatsDelivery, "ack", checked_ack)
    active = peak = batches = 0
    process = consumer.process

    async def one_at_a_time(db: Database, deliveries: list[Any]) -> None:
        nonlocal active, peak, batches
        active += 1
        batches += 1
        peak = max(peak, active)
        try:
            await asyncio.sleep(0.02)  # a slow commit: the next batch is fetched meanwhile
            await process(db, deliveries)
        finally:
            active -= 1

    consumer.process = one_at_a_time
    task = buses.spawn(consumer.run(db, bus))
    subjects = [f"s{i}" for i in range(3)]
    await write_events(db, ctx, subjects, 20, per_tx=10)
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_effects(db, consumer, 3 * 20, 60)
        rows = await effect_rows(db, consumer)
        assert len(rows) == 3 * 20
        for s, positions in _positions(rows).items():
            assert positions == list(range(20)), f"subject {s} out of order: {positions}"
        assert peak == 1
        assert batches >= 60 // 7
        assert early == []
    finally:
        await relay.stop()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
