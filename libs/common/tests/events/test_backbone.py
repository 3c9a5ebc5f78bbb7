"""The same suite on both brokers (real NATS JetStream and real RabbitMQ): outbox → relay →
broker → consumer, with crashes, redeliveries, failures, outages, ordering and tracing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from opentelemetry import trace
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text
from vc_common.db import Database
from vc_common.events.bus import Delivery
from vc_common.events.consumer import Consumer, replay
from vc_common.events.envelope import CloudEvent
from vc_common.events.outbox import add_event
from vc_common.events.relay import OutboxRelay
from vc_common.telemetry import memory_exporter, setup_tracing
from vc_events_kit import (
    BROKERS,
    Buses,
    CrashBefore,
    CrashingBus,
    NatsServer,
    TcpProxy,
    effect_rows,
    make_consumer,
    relay_for,
    subscribed,
    tables,
    wait_effects,
    wait_until,
    write_events,
)


async def _stop(*tasks: asyncio.Task[Any] | None) -> None:
    for t in tasks:
        if t is not None:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


async def _pending(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int(
            (
                await conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
            ).scalar_one()
        )


async def _inbox_count(db: Database, consumer: Consumer) -> int:
    async with db.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(tables.inbox)
                    .where(tables.inbox.c.consumer == consumer.name)
                )
            ).scalar_one()
        )


async def test_order_per_subject_with_two_relays(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    db = clean_db
    bus = await buses.open()
    consumer = make_consumer(buses, "order", [f"{ctx}.item.*"])
    await subscribed(bus, consumer)
    consumer_task = buses.spawn(consumer.run(db, bus))
    subjects = [f"s{i}" for i in range(8)]
    await write_events(db, ctx, subjects, 40, per_tx=7)
    # two relay replicas with small batches race over the same outbox
    r1 = relay_for(db, bus, ctx, batch_size=13)
    r2 = relay_for(db, await buses.open(), ctx, batch_size=13)
    r1.start()
    r2.start()
    try:
        await write_events(db, ctx, subjects, 10, start=40)
        await wait_effects(db, consumer, 8 * 50)
        rows = await effect_rows(db, consumer)
        seen: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            seen[row.subject].append(row.position)
        assert len(rows) == 8 * 50
        for s in subjects:
            assert seen[s] == list(range(50)), f"subject {s} out of order: {seen[s]}"
        assert r1.published + r2.published == 400
        assert await _pending(db) == 0
    finally:
        await r1.stop()
        await r2.stop()
        await _stop(consumer_task)


async def test_relay_crash_before_publish(clean_db: Database, buses: Buses, ctx: str) -> None:
    db = clean_db
    bus = await buses.open()
    consumer = make_consumer(buses, "crash1", [f"{ctx}.>"])
    await subscribed(bus, consumer)
    consumer_task = buses.spawn(consumer.run(db, bus))

    def die(_: Any) -> None:
        raise CrashBefore("crash between commit and publish")

    (event,) = await write_events(db, ctx, ["a"], 1)
    dying = relay_for(db, bus, ctx, before_publish=die, listen=False)
    task = dying.start()
    with pytest.raises(CrashBefore):
        await task
    assert await _pending(db) == 1
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_effects(db, consumer, 1)
        await asyncio.sleep(1.0)
        rows = await effect_rows(db, consumer)
        assert [r.event_id for r in rows] == [event.id]
        assert await _pending(db) == 0
    finally:
        await relay.stop()
        await _stop(consumer_task)


async def test_relay_crash_after_publish_before_mark(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    db = clean_db
    bus = await buses.open()
    consumer = make_consumer(buses, "crash2", [f"{ctx}.>"])
    await subscribed(bus, consumer)
    consumer_task = buses.spawn(consumer.run(db, bus))
    events = await write_events(db, ctx, ["a", "b"], 3)
    crashing = CrashingBus(bus)
    dying = relay_for(db, crashing, ctx, listen=False)
    task = dying.start()
    with pytest.raises(CrashBefore):
        await task
    assert len(crashing.published) == 2  # the broker has the first wave (one per subject) ...
    assert await _pending(db) == 6  # ... but the outbox does not know
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_effects(db, consumer, 6)
        await asyncio.sleep(1.5)  # give a duplicate time to arrive
        rows = await effect_rows(db, consumer)
        assert sorted(r.event_id for r in rows) == sorted(e.id for e in events)
        assert await _inbox_count(db, consumer) == 6
        assert await _pending(db) == 0
    finally:
        await relay.stop()
        await _stop(consumer_task)


async def test_same_message_delivered_twice(clean_db: Database, buses: Buses, ctx: str) -> None:
    db = clean_db
    bus = await buses.open()
    consumer = make_consumer(buses, "dup", [f"{ctx}.>"])
    await subscribed(bus, consumer)
    deliveries: list[int] = []
    first_time: set[bytes] = set()

    async def callback(batch: list[Delivery]) -> None:
        # the first delivery of each message "loses" its ack after the commit: the broker
        # redelivers the very same message
        for d in batch:
            deliveries.append(d.attempt)
            if d.body not in first_time:
                first_time.add(d.body)

                async def lost_ack(d: Delivery = d) -> None:
                    await d.retry(0.0)

                d.ack = lost_ack  # type: ignore[method-assign]
        await consumer.process(db, batch)

    task = buses.spawn(bus.consume(consumer.spec(), callback))
    (event,) = await write_events(db, ctx, ["a"], 1)
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_until(lambda: _async(len(deliveries) >= 2), 20)
        await asyncio.sleep(0.5)
        rows = await effect_rows(db, consumer)
        assert [r.event_id for r in rows] == [event.id]
        assert deliveries[:2] == [1, 2]
        # and the exactly-once step itself, called directly
        assert await consumer.handle(db, event) is False
        assert len(await effect_rows(db, consumer)) == 1
    finally:
        await relay.stop()
        await _stop(task)


async def _async(value: bool) -> bool:
    return value


async def test_failing_handler_backoff_dead_letter_and_redrive(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    db = clean_db
    bus = await buses.open()
    failing = {"on": True}
    calls: list[tuple[float, CloudEvent]] = []
    consumer = make_consumer(
        buses,
        "fail",
        [f"{ctx}.item.changed"],
        max_deliver=3,
        backoff=(0.5, 1.0),
        fail=lambda _e: failing["on"],
        calls=calls,
    )
    await subscribed(bus, consumer)
    task = buses.spawn(consumer.run(db, bus))
    (event,) = await write_events(db, ctx, ["a"], 1)
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_until(lambda: _async(len(calls) >= 3), 20)
        dead: list[Any] = []

        async def in_dlq() -> bool:
            dead[:] = await bus.dlq_list(consumer.name)
            return len(dead) == 1

        await wait_until(in_dlq, 10, 0.2)
        await asyncio.sleep(1.5)
        assert len(calls) == 3  # delivered max_deliver times, then no more
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(calls)]
        assert gaps[0] >= 0.45, gaps  # backoff between redeliveries
        assert gaps[1] >= 0.95, gaps
        assert dead[0].event_id == str(event.id)
        assert dead[0].type == event.type
        assert await effect_rows(db, consumer) == []
        assert await _inbox_count(db, consumer) == 0  # never acknowledged as applied

        failing["on"] = False
        assert await bus.dlq_redrive(consumer.name) == 1
        await wait_effects(db, consumer, 1, 15)
        rows = await effect_rows(db, consumer)
        assert [r.event_id for r in rows] == [event.id]
        assert await bus.dlq_list(consumer.name) == []
    finally:
        await relay.stop()
        await _stop(task)


async def test_consumer_span_continues_the_producing_trace(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    setup_tracing("events-test", in_memory=True)
    exporter = memory_exporter()
    if exporter is None:
        pytest.skip("a tracer provider without the in-memory exporter is already installed")
    db = clean_db
    bus = await buses.open()
    consumer = make_consumer(buses, "trace", [f"{ctx}.>"])
    await subscribed(bus, consumer)
    task = buses.spawn(consumer.run(db, bus))
    with trace.get_tracer("test").start_as_current_span("POST /things") as request_span:
        (event,) = await write_events(db, ctx, ["a"], 1)
    parent = request_span.get_span_context()
    assert event.traceparent is not None
    assert event.traceparent.split("-")[1] == format(parent.trace_id, "032x")
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_effects(db, consumer, 1)
        spans = [
            s
            for s in exporter.get_finished_spans()
            if s.name == f"{event.type} process"
            and s.attributes
            and s.attributes.get("messaging.message.id") == str(event.id)
        ]
        assert len(spans) == 1
        span = spans[0]
        assert span.context is not None
        assert span.parent is not None
        assert span.context.trace_id == parent.trace_id
        # request -> the outbox write (PRODUCER "create") -> the consumer's handling
        (create,) = [s for s in exporter.get_finished_spans() if s.name == f"{event.type} create"]
        assert create.parent is not None
        assert create.parent.span_id == parent.span_id
        assert create.context is not None
        assert span.parent.span_id == create.context.span_id
        assert span.kind == trace.SpanKind.CONSUMER
    finally:
        await relay.stop()
        await _stop(task)


async def test_replay_rebuilds_a_projection(clean_db: Database, buses: Buses, ctx: str) -> None:
    db = clean_db
    # the brokers' history is shared by every run on this machine (benches put hundreds of
    # thousands of events there): replay what this test wrote, not all of it
    since = datetime.now(UTC) - timedelta(seconds=30)
    bus = await buses.open()
    consumer = make_consumer(buses, "replay", [f"{ctx}.item.changed"])
    await subscribed(bus, consumer)
    task = buses.spawn(consumer.run(db, bus))
    await write_events(db, ctx, ["a", "b"], 5)
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_effects(db, consumer, 10)
        await _stop(task)
        before = [(r.event_id, r.subject, r.position) for r in await effect_rows(db, consumer)]
        # without reset the inbox makes a replay a no-op
        res = await replay(consumer, db, bus, since=since)
        assert (res.seen, res.applied) == (10, 0)
        # with reset the projection is rebuilt from history, in order
        res = await replay(consumer, db, bus, since=since, reset=True)
        assert (res.seen, res.applied, res.failed) == (10, 10, 0)
        after = [(r.event_id, r.subject, r.position) for r in await effect_rows(db, consumer)]
        assert sorted(after) == sorted(before)
        for s in ("a", "b"):
            assert [p for _, subj, p in after if subj == s] == list(range(5))
    finally:
        await relay.stop()
        await _stop(task)


@pytest.mark.slow
async def test_broker_outage_of_ten_seconds(
    clean_db: Database, buses: Buses, ctx: str, broker: str, tmp_path: Path
) -> None:
    """The broker is unreachable for 10 s while events are written: nothing is lost."""
    db = clean_db
    server: NatsServer | None = None
    proxy: TcpProxy | None = None
    if broker == "nats":
        server = NatsServer(tmp_path / "js")
        await server.start()
        url = server.url
    else:
        proxy = TcpProxy(5672)
        await proxy.start()
        url = BROKERS["rabbitmq"].replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    bus = await buses.open(url)
    consumer = make_consumer(buses, "outage", [f"{ctx}.>"])
    await subscribed(bus, consumer)
    task = buses.spawn(consumer.run(db, bus))
    relay: OutboxRelay = relay_for(db, bus, ctx, publish_timeout=1.0)
    relay.start()
    try:
        await write_events(db, ctx, ["a", "b", "c"], 5)
        await wait_effects(db, consumer, 15)
        # outage
        if server is not None:
            await server.stop()
        else:
            assert proxy is not None
            await proxy.cut()
        t0 = time.monotonic()
        position = 5
        while time.monotonic() - t0 < 10:
            await write_events(db, ctx, ["a", "b", "c"], 1, start=position)
            position += 1
            await asyncio.sleep(0.25)
        assert await _pending(db) > 0  # accumulating
        stats = await relay.stats()
        assert stats.pending > 0
        assert stats.lag_seconds > 5
        # back
        if server is not None:
            await server.start()
        else:
            assert proxy is not None
            await proxy.start()
        await wait_effects(db, consumer, 3 * position, 60)
        await asyncio.sleep(1.0)
        rows = await effect_rows(db, consumer)
        assert len(rows) == 3 * position
        assert len({r.event_id for r in rows}) == 3 * position
        for s in ("a", "b", "c"):
            assert [r.position for r in rows if r.subject == s] == list(range(position))
        assert await _pending(db) == 0
        async with db.engine.connect() as conn:
            dead = (
                await conn.execute(text("SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL"))
            ).scalar_one()
        assert dead == 0  # an outage is not charged to the events
    finally:
        await relay.stop()
        await _stop(task)
        if broker == "nats":
            # the consumer lives on our own server; nothing to clean on the shared one
            buses.consumers.clear()
        for b in buses.opened:
            await b.close()
        buses.opened.clear()
        if server is not None:
            await server.stop()
        if proxy is not None:
            await proxy.stop()


async def test_batch_ack_never_covers_a_delivery_held_for_retry(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    """A failed event waits (unacknowledged) for its backoff while later batches commit; their
    acknowledgement (RabbitMQ: one multiple ack) must not acknowledge it: it is retried."""
    db = clean_db
    bus = await buses.open()
    tries: dict[str, int] = defaultdict(int)

    def fail(event: CloudEvent) -> bool:
        tries[event.subject] += 1
        return event.subject == "x" and tries["x"] == 1

    consumer = make_consumer(
        buses, "held", [f"{ctx}.>"], fail=fail, max_deliver=3, backoff=(1.5, 1.5)
    )
    await subscribed(bus, consumer)
    task = buses.spawn(consumer.run(db, bus))
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await write_events(db, ctx, ["x"], 1)
        await wait_until(lambda: _async(tries["x"] >= 1), 20)
        for _ in range(3):  # later batches, committed and acknowledged during the backoff
            await write_events(db, ctx, [f"s{i}" for i in range(10)], 1, per_tx=10)
            await asyncio.sleep(0.2)
        await wait_effects(db, consumer, 31, 20)
        rows = await effect_rows(db, consumer)
        assert len(rows) == 31
        assert [r.subject for r in rows].count("x") == 1
        assert tries["x"] >= 2  # redelivered after its backoff, then applied
    finally:
        await relay.stop()
        await _stop(task)


async def test_a_database_outage_dead_letters_nothing(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    """The database unreachable for longer than every retry of the consumer's backoff put
    together (the chaos run's PostgreSQL kill dead-lettered events that way): the delivery is
    held, no attempt is charged, and the event is applied once the database is back."""
    db = clean_db
    bus = await buses.open()
    down_until = time.monotonic() + 4.0  # > max_deliver x backoff: 2 x 0.2 s

    def database_down(_e: CloudEvent) -> bool:
        if time.monotonic() < down_until:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        return False

    consumer = make_consumer(
        buses,
        "outage",
        [f"{ctx}.item.changed"],
        max_deliver=2,
        backoff=(0.2, 0.2),
        fail=database_down,
    )
    await subscribed(bus, consumer)
    task = buses.spawn(consumer.run(db, bus))
    (event,) = await write_events(db, ctx, ["a"], 1)
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_effects(db, consumer, 1, 30)
        assert [r.event_id for r in await effect_rows(db, consumer)] == [event.id]
        assert await bus.dlq_list(consumer.name) == []
    finally:
        await relay.stop()
        await _stop(task)


async def test_a_type_no_handler_takes_is_acked_without_a_transaction(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    """A durable that delivers more than its consumer handles (the whole stream: a NATS server
    before 2.10 drops several filter subjects) gets those deliveries acknowledged, with no
    inbox row and no redelivery, and the handled ones applied exactly once, in order."""
    db = clean_db
    bus = await buses.open()
    wide = make_consumer(buses, "wide", [f"{ctx}.>"], ack_wait=1.0)  # the durable: everything
    narrow = make_consumer(buses, "narrow", [f"{ctx}.item.changed"])  # what is handled
    await subscribed(bus, wide)
    seen: list[bytes] = []

    async def callback(batch: list[Delivery]) -> None:
        seen.extend(d.body for d in batch)
        await narrow.process(db, batch)

    task = buses.spawn(bus.consume(wide.spec(), callback))
    async with db.unit_of_work() as session:
        for i in range(6):
            await add_event(
                session,
                tables,
                source=ctx,
                type=f"{ctx}.item.changed" if i % 2 == 0 else f"{ctx}.other.noted",
                subject="s",
                data={"position": i},
            )

    def skipped() -> float:
        labels = {"consumer": narrow.name, "outcome": "skipped"}
        return REGISTRY.get_sample_value("vc_consumer_events_total", labels) or 0.0

    before = skipped()
    relay = relay_for(db, bus, ctx)
    relay.start()
    try:
        await wait_effects(db, narrow, 3)
        await wait_until(lambda: _async(len(seen) >= 6), 20)
        await asyncio.sleep(2.5)  # past the durable's ack wait: an unacked one would be back
        assert len(seen) == 6
        assert len(set(seen)) == 6  # none twice
        assert [r.position for r in await effect_rows(db, narrow)] == [0, 2, 4]
        assert await _inbox_count(db, narrow) == 3
        assert skipped() - before == 3
    finally:
        await relay.stop()
        await _stop(task)
