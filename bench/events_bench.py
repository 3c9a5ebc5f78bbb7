"""Event backbone benchmark: outbox → relay → broker → consumer, per broker.

``python -m bench.events_bench`` (from the repository root) or ``main()``. Needs PostgreSQL
(``DATABASE_URL``), NATS (``NATS_URL``) and RabbitMQ (``RABBITMQ_URL``); a broker that cannot be
reached is skipped. Three processes per broker, as in production: the *producing service* (writes
events with ``add_event`` and runs the outbox relay), the *consuming service* (runs the
``Consumer``, whose handler inserts one effect row per event) and this coordinator, which only
orchestrates and collects figures. Prints, per broker:

- throughput: N events written to the outbox up front (in transactions of 100) while the relay
  is stopped; then the relay starts (t0) and we take the commit time of the consumer's
  transaction that applied the last one (t1): N / (t1 - t0) events/s end to end;
- lag at a fixed rate: events written one per transaction at 1,000/s (8 concurrent writers) for a
  few seconds; lag = time the consumer's transaction (inbox + effect row) *committed* - the
  event's ``time`` (set in the producing transaction, before its commit); p50 / p99 / max.

Both times are taken by the consumer right after ``Consumer.process`` returned (commit done, acks
sent) and reported to the coordinator over a pipe, so the coordinator's polling adds no load or
error. The effect rows are counted at the end as a check.

Anchors (same run, same machine, same message count; :mod:`bench.broker_anchors`): the raw
broker moving the same messages with nats-py JetStream publish+PubAck → pull+ack, and aio-pika
publisher confirms → consumer acks.

Then the big backlog (``--backlog``, 1,000,000; 50,000 with ``--quick``; 0 skips it): the
producing service bulk-loads the outbox (one ``INSERT ... SELECT generate_series`` per 50,000
rows, as an import or a backlog grown during an outage), then starts its relay, and the consumer
drains it. Reported: bulk-load and drain rate, drain time, CPU per event of the relay's and the
consumer's process, and their resident memory (``VmRSS``, sampled every second) at the start of
the drain, at its peak and at its end. At the end every event must have exactly one effect row
(as many distinct event ids as events) and no outbox row may be left unsent.

Targets: ≥ 8,000 events/s on NATS and ≥ 5,000 on RabbitMQ end to end, ≥ 0.5 of the raw broker
anchor; p99 lag < 100 ms at 1,000 events/s; the backlog drained with flat memory: neither
process's RSS peak more than 50 MiB above its RSS when the drain started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    select,
    text,
)
from vc_common.context import Context
from vc_common.db import Database
from vc_common.events.bus import bus_from_url
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.events.nats import NatsBus
from vc_common.events.outbox import add_event
from vc_common.events.relay import OutboxRelay
from vc_common.events.tables import install_event_tables
from vc_common.testing.plugin import create_database, drop_database

from bench import broker_anchors
from bench.harness import (
    Report,
    busy_between,
    command_cpu_seconds,
    cpu_seconds,
    machine_times,
    quick,
    rss_mib,
)

metadata = MetaData()
tables = install_event_tables(metadata)
effects = Table(
    "bench_effects",
    metadata,
    Column("n", BigInteger, Identity(), primary_key=True),
    Column("event_id", Uuid, nullable=False),
    Column("subject", String(200), nullable=False),
    Column("lag_ms", BigInteger, nullable=False),
    Column("applied_at", DateTime(timezone=True), server_default=func.clock_timestamp()),
)

BROKERS = {
    "nats": os.environ.get("NATS_URL") or "nats://127.0.0.1:4222",
    "rabbitmq": os.environ.get("RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672/",
}

#: the subjects (aggregates) the bench's events are spread over. The relay keeps at most one
#: unacknowledged event per subject in flight (order per subject), so a wave is at most this
#: many publishes: ``--subjects`` shows how far the broker's round trip bounds the pipeline
SUBJECTS = 200


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


#: the broker's server process, by URL scheme (its CPU per event is printed beside the
#: pipeline's: on 2 cores the broker, PostgreSQL and both services share the same CPU)
_BROKER_COMMANDS = {"nats": ("nats-server",), "amqp": ("beam.smp",), "amqps": ("beam.smp",)}


class _Machine:
    """The machine's CPU over a phase: busy share, and the broker's and PostgreSQL's CPU."""

    def __init__(self, url: str) -> None:
        self.broker = _BROKER_COMMANDS.get(url.split(":", 1)[0], ())
        self.start = self._now()

    def _now(self) -> tuple[tuple[int, int], float, float]:
        cpu = command_cpu_seconds(*self.broker, "postgres")
        return machine_times(), sum(cpu[n] for n in self.broker), cpu["postgres"]

    def figures(self, n: int) -> dict[str, float]:
        (t0, b0, p0), (t1, b1, p1) = self.start, self._now()
        return {
            "machine_busy": busy_between(t0, t1),
            "broker_cpu_ms_per_event": (b1 - b0) * 1000 / n if self.broker else float("nan"),
            "postgres_cpu_ms_per_event": (p1 - p0) * 1000 / n,
        }


async def _count(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(effects))).scalar_one())


# One effect row per event, written for a whole run of the batch by one statement (three array
# parameters: compiled and prepared once, whatever the run's length).
_EFFECTS_SQL = text(
    "INSERT INTO bench_effects (event_id, subject, lag_ms) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:subjects AS text[]), "
    "CAST(:lags AS bigint[]))"
)


def make_consumer(ctx: str, applied: list[datetime] | None = None) -> Consumer:
    """The consuming service's consumer: a set-based handler (``Consumer.on_batch``), as a
    service whose effect is an insert or an upsert writes it (analytics' aggregates do)."""
    consumer = Consumer(f"bench-{ctx}", batch_size=200)

    @consumer.on_batch(f"{ctx}.>")
    async def apply(ctx: Context, events: list[CloudEvent]) -> None:
        now = datetime.now(UTC)
        await ctx.session.execute(
            _EFFECTS_SQL,
            {
                "ids": [e.id for e in events],
                "subjects": [e.subject for e in events],
                "lags": [int((now - e.time).total_seconds() * 1000) for e in events],
            },
        )
        if applied is not None:
            applied.extend(e.time for e in events)

    return consumer


# -- the consuming service ----------------------------------------------------------------


async def _consume(
    url: str, db_url: str, ctx: str, out: Any, ready: Any, lags: bool = True
) -> None:
    db = Database(db_url, pool_size=4, max_overflow=4)
    applied: list[datetime] = []
    consumer = make_consumer(ctx, applied)
    process = consumer.process
    total = 0

    async def measured(db: Database, deliveries: list[Any]) -> None:
        nonlocal total
        applied.clear()
        await process(db, deliveries)  # returns after the commit (and the acks)
        now = time.time()
        total += len(applied)
        # (events applied so far, commit time, lag in ms of each event of this batch)
        out.put((total, now, [(now - t.timestamp()) * 1000 for t in applied] if lags else []))

    consumer.process = measured  # type: ignore[method-assign]
    bus = bus_from_url(url)
    await bus.connect()
    ready.set()
    try:
        await consumer.run(db, bus)
    finally:
        await bus.close()
        await db.dispose()


def consumer_process(
    url: str, db_url: str, ctx: str, out: Any, ready: Any, lags: bool = True
) -> None:
    """The consuming service, in its own process."""
    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_consume(url, db_url, ctx, out, ready, lags))


# -- the producing service ----------------------------------------------------------------


async def _produce(
    url: str,
    db_url: str,
    ctx: str,
    n: int,
    rate: int,
    seconds: float,
    n_subjects: int,
    out: Any,
    go: Any,
) -> None:
    db = Database(db_url, pool_size=10, max_overflow=10)
    bus = bus_from_url(url)
    await bus.connect()
    relay = OutboxRelay(db, tables, bus, service=ctx, batch_size=500, poll_interval=0.5)
    subjects = [str(uuid.uuid4()) for _ in range(n_subjects)]

    async def write(i: int) -> None:
        async with db.unit_of_work() as session:
            await add_event(
                session,
                tables,
                source=ctx,
                type=f"{ctx}.item.changed",
                subject=subjects[i % len(subjects)],
                data={"i": i},
            )

    async def write_chunk(k: int) -> None:
        async with db.unit_of_work() as session:
            for i in range(k, min(k + 100, n)):
                await add_event(
                    session,
                    tables,
                    source=ctx,
                    type=f"{ctx}.item.changed",
                    subject=subjects[i % len(subjects)],
                    data={"i": i},
                )

    try:
        # 1. the backlog, relay stopped (4 writers; order within a subject is irrelevant here)
        chunks = list(range(0, n, 100))
        for j in range(0, len(chunks), 4):
            await asyncio.gather(*(write_chunk(k) for k in chunks[j : j + 4]))
        await asyncio.to_thread(go.wait)
        go.clear()
        out.put(("t0", time.time()))
        relay.start()
        # 2. fixed rate, one event per transaction, once the coordinator says so
        await asyncio.to_thread(go.wait)
        total = int(rate * seconds)
        gate = asyncio.Semaphore(8)  # like concurrent requests of a service

        async def produce(i: int) -> None:
            async with gate:
                await write(n + i)

        producers = []
        start = time.monotonic()
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            producers.append(asyncio.create_task(produce(i)))
        await asyncio.gather(*producers)
        out.put(("rate", total / (time.monotonic() - start)))
        await asyncio.sleep(3600)  # the relay keeps running until we are terminated
    finally:
        await relay.stop()
        await bus.close()
        await db.dispose()


def producer_process(
    url: str,
    db_url: str,
    ctx: str,
    n: int,
    rate: int,
    seconds: float,
    n_subjects: int,
    out: Any,
    go: Any,
) -> None:
    """The producing service (its writes and its outbox relay), in its own process."""
    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_produce(url, db_url, ctx, n, rate, seconds, n_subjects, out, go))


# A bulk load of the outbox (a backlog accumulated during an outage, an import): one statement
# per chunk, the envelope built by PostgreSQL in the shape ``CloudEvent.to_dict`` gives, so a
# million rows take seconds instead of a million ``add_event`` round trips.
_BACKLOG_SQL = text("""
    INSERT INTO outbox (id, type, subject, payload)
    SELECT e.id, CAST(:type AS text), e.subject, jsonb_build_object(
        'specversion', '1.0', 'id', e.id::text, 'source', CAST(:source AS text),
        'type', CAST(:type AS text),
        'time', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'subject', e.subject, 'datacontenttype', 'application/json',
        'data', jsonb_build_object('i', e.i))
    FROM (SELECT i, gen_random_uuid() AS id,
                 (CAST(:subjects AS text[]))[1 + i % cardinality(CAST(:subjects AS text[]))]
                   AS subject
          FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint) - 1) AS i) AS e
""")


async def _produce_backlog(
    url: str, db_url: str, ctx: str, n: int, n_subjects: int, out: Any, go: Any
) -> None:
    db = Database(db_url, pool_size=2, max_overflow=2)
    bus = bus_from_url(url)
    await bus.connect()
    relay = OutboxRelay(db, tables, bus, service=ctx, batch_size=500, poll_interval=0.5)
    subjects = [str(uuid.uuid4()) for _ in range(n_subjects)]
    try:
        out.put(("writing", time.time()))
        for lo in range(0, n, 50_000):
            async with db.unit_of_work() as session:
                await session.execute(
                    _BACKLOG_SQL,
                    {
                        "type": f"{ctx}.item.changed",
                        "source": ctx,
                        "subjects": subjects,
                        "lo": lo,
                        "hi": min(n, lo + 50_000),
                    },
                )
        out.put(("written", time.time()))
        await asyncio.to_thread(go.wait)
        out.put(("t0", time.time()))
        relay.start()
        await asyncio.sleep(24 * 3600)  # the relay keeps running until we are terminated
    finally:
        await relay.stop()
        await bus.close()
        await db.dispose()


def backlog_producer_process(
    url: str, db_url: str, ctx: str, n: int, n_subjects: int, out: Any, go: Any
) -> None:
    """The producing service with a bulk-loaded outbox, then its relay, in its own process."""
    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_produce_backlog(url, db_url, ctx, n, n_subjects, out, go))


# -- the coordinator ----------------------------------------------------------------------


def _get(q: Any, limit: float) -> Any:
    try:
        return q.get(timeout=limit)
    except queue.Empty:
        raise TimeoutError(f"no report within {limit:.0f}s") from None


@dataclass
class Pipeline:
    """A producing and a consuming service in processes of their own, the consumer ready."""

    prod: Any
    cons: Any
    applied: Any  # the consumer's reports: (events applied, last commit time, lags)
    produced: Any  # the producer's reports
    go: Any  # the producer's signal to start its next phase


@contextlib.asynccontextmanager
async def pipeline(
    url: str, db: Database, producer: Any, args: tuple[Any, ...], *, lags: bool
) -> AsyncIterator[Pipeline]:
    """A fresh consumer group on ``url`` over emptied tables, ``consumer_process`` and
    ``producer(url, db_url, ctx, *args, produced, go)`` started; stopped and deleted after."""
    ctx = f"bench{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(ctx)
    bus = bus_from_url(url)
    await bus.connect()
    async with db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox, inbox, bench_effects"))
    await bus.ensure_consumer(consumer.spec())
    mp = multiprocessing.get_context("spawn")
    db_url = db.engine.url.render_as_string(hide_password=False)
    applied_q, produced_q = mp.Queue(), mp.Queue()
    ready, go = mp.Event(), mp.Event()
    cons = mp.Process(
        target=consumer_process, args=(url, db_url, ctx, applied_q, ready, lags), daemon=True
    )
    prod = mp.Process(target=producer, args=(url, db_url, ctx, *args, produced_q, go), daemon=True)
    cons.start()
    prod.start()
    try:
        if not await asyncio.to_thread(ready.wait, 240):
            raise TimeoutError("the consumer did not start")
        yield Pipeline(prod, cons, applied_q, produced_q, go)
    finally:
        for proc in (prod, cons):
            proc.terminate()
        for proc in (prod, cons):
            proc.join(10)
        with contextlib.suppress(Exception):
            await bus.delete_consumer(consumer.spec())
            if isinstance(bus, NatsBus):
                await bus.delete_context(ctx)
        await bus.close()


async def run_broker(
    url: str, db: Database, *, n: int, rate: int, seconds: float, subjects: int = SUBJECTS
) -> dict[str, float]:
    async with pipeline(url, db, producer_process, (n, rate, seconds, subjects), lags=True) as p:
        applied_q, produced_q, go = p.applied, p.produced, p.go

        async def until(count: int, limit: float) -> tuple[float, list[float]]:
            """Wait until ``count`` events are applied; (last commit time, their lags)."""
            lags: list[float] = []
            deadline = time.monotonic() + limit
            while True:
                total, at, batch = await asyncio.to_thread(
                    _get, applied_q, max(0.1, deadline - time.monotonic())
                )
                lags.extend(batch)
                if total >= count:
                    return at, lags

        # 1. throughput: the producer writes the backlog, then starts its relay on `go`
        go.set()
        _, t0 = await asyncio.to_thread(_get, produced_q, 120)
        machine = _Machine(url)
        t1, _ = await until(n, 120)
        throughput = n / (t1 - t0)
        cpu = machine.figures(n)

        # 2. lag at a fixed rate, one event per transaction
        total = int(rate * seconds)
        go.set()
        _, lags = await until(n + total, seconds + 60)
        _, achieved = await asyncio.to_thread(_get, produced_q, 30)
        applied = await _count(db)
        if applied != n + total:
            raise RuntimeError(f"{applied} effect rows for {n + total} events")
        return {
            "throughput": throughput,
            "rate": achieved,
            "p50": _pct(lags, 50),
            "p99": _pct(lags, 99),
            "max": max(lags),
            **cpu,
        }


async def run_backlog(
    url: str, db: Database, *, n: int, subjects: int = SUBJECTS
) -> dict[str, float]:
    """A backlog of ``n`` events bulk-loaded into the outbox with the relay stopped, then drained
    (relay and consumer in their own processes): drain rate, and the resident memory of the
    relay's and the consumer's process sampled every second, which must stay flat however long
    the backlog is (nothing may hold the backlog, its deliveries or its acks)."""
    async with pipeline(url, db, backlog_producer_process, (n, subjects), lags=False) as p:
        prod, cons, applied_q, produced_q, go = p.prod, p.cons, p.applied, p.produced, p.go
        samples: dict[str, list[float]] = {"relay": [], "consumer": []}
        _, writing = await asyncio.to_thread(_get, produced_q, 60)
        _, written = await asyncio.to_thread(_get, produced_q, 60 + n / 2_000)
        write_seconds = written - writing
        cpu0 = {"relay": cpu_seconds(prod.pid), "consumer": cpu_seconds(cons.pid)}

        def sample() -> None:
            samples["relay"].append(rss_mib(prod.pid))
            samples["consumer"].append(rss_mib(cons.pid))

        async def sampler() -> None:
            while True:
                sample()
                await asyncio.sleep(1.0)

        sample()  # the start: backlog written, relay not started, consumer idle
        go.set()
        _, t0 = await asyncio.to_thread(_get, produced_q, 30)
        machine = _Machine(url)
        sampling = asyncio.create_task(sampler())
        try:
            deadline = time.monotonic() + 120 + n / 200  # the drain at 200/s still finishes
            while True:
                total, t1, _ = await asyncio.to_thread(
                    _get, applied_q, max(0.1, deadline - time.monotonic())
                )
                if total >= n:
                    break
        finally:
            sampling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampling
        sample()  # the end
        whole = machine.figures(n)
        cpu = {k: cpu_seconds(pr.pid) - cpu0[k] for k, pr in (("relay", prod), ("consumer", cons))}
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT event_id), "
                        "(SELECT count(*) FROM outbox WHERE sent_at IS NULL) FROM bench_effects"
                    )
                )
            ).one()
        effects_rows, distinct, unsent = int(row[0]), int(row[1]), int(row[2])
        if effects_rows != n or distinct != n or unsent:
            raise RuntimeError(
                f"{effects_rows} effect rows ({distinct} distinct) for {n} events, "
                f"{unsent} outbox rows unsent"
            )
        out: dict[str, float] = {
            "write_rate": n / write_seconds,
            "drain_rate": n / (t1 - t0),
            "drain_seconds": t1 - t0,
            "effects": effects_rows,
            **whole,
        }
        for k, rss in samples.items():
            out[f"{k}_rss_start"] = rss[0]
            out[f"{k}_rss_peak"] = max(rss)
            out[f"{k}_rss_end"] = rss[-1]
            # growth over the second half of the drain: a leak shows here, warm-up does not
            half = rss[len(rss) // 2 :]
            out[f"{k}_rss_second_half"] = max(half) - half[0]
            out[f"{k}_cpu_ms_per_event"] = cpu[k] * 1000 / n
        return out


TARGETS = {"nats": 8000.0, "rabbitmq": 5000.0}  # events/s end to end on this 2-core machine
TARGET_RATIO = 0.5  # of the raw broker anchor
TARGET_P99_MS = 100.0  # at 1,000 events/s
#: "flat memory" while draining the big backlog: neither the relay's nor the consumer's process
#: grows by more than this over its resident size when the drain started (a process that held
#: the backlog, its deliveries or their acks grows by hundreds of MiB over a million events)
TARGET_RSS_GROWTH_MIB = 50.0


async def anchor(broker: str, url: str, n: int) -> float:
    if broker == "nats":
        return await broker_anchors.nats_anchor(url, n)
    return await broker_anchors.rabbit_anchor(url, n)


async def amain(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--events", type=int, default=int(quick(20_000, 3_000)), help="throughput backlog size"
    )
    p.add_argument("--rate", type=int, default=1000, help="events/s for the lag measurement")
    p.add_argument(
        "--seconds", type=float, default=quick(6.0, 2.0), help="duration of the lag measurement"
    )
    p.add_argument("--broker", choices=sorted(BROKERS), action="append")
    p.add_argument(
        "--backlog",
        type=int,
        default=int(quick(1_000_000, 50_000)),
        help="size of the bulk-loaded backlog drained with memory sampled (0: skip the phase)",
    )
    p.add_argument(
        "--subjects",
        type=int,
        default=SUBJECTS,
        help="subjects the events are spread over (the relay has one in flight per subject)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    name = f"bench_events_{os.getpid()}"
    db = Database(await create_database(name), pool_size=10, max_overflow=10)
    results: dict[str, dict[str, float] | str] = {}
    backlogs: dict[str, dict[str, float] | str] = {}
    anchors: dict[str, float | str] = {}
    anchor_cpu: dict[str, dict[str, float]] = {}
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        for broker in args.broker or sorted(BROKERS):
            if args.events:  # 0: only the backlog phase
                # the anchor right before the pipeline, so both see the same machine
                try:
                    machine = _Machine(BROKERS[broker])
                    anchors[broker] = await anchor(broker, BROKERS[broker], args.events)
                    anchor_cpu[broker] = machine.figures(args.events)
                except Exception as exc:
                    anchors[broker] = f"failed: {exc!r}"
                try:
                    results[broker] = await run_broker(
                        BROKERS[broker],
                        db,
                        n=args.events,
                        rate=args.rate,
                        seconds=args.seconds,
                        subjects=args.subjects,
                    )
                except Exception as exc:
                    results[broker] = f"failed: {exc!r}"
            if args.backlog:
                try:
                    backlogs[broker] = await run_backlog(
                        BROKERS[broker], db, n=args.backlog, subjects=args.subjects
                    )
                except Exception as exc:
                    backlogs[broker] = f"failed: {exc!r}"
    finally:
        await db.dispose()
        await drop_database(name)
    print(
        f"\noutbox → relay → broker → consumer ({args.events} events backlog over "
        f"{args.subjects} subjects; "
        f"lag at {args.rate}/s for {args.seconds:.0f}s)"
    )
    print(f"{'broker':<10} {'events/s':>10} {'rate':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for broker, r in results.items():
        if isinstance(r, str):
            print(f"{broker:<10} {r}")
        else:
            print(
                f"{broker:<10} {r['throughput']:>10.0f} {r['rate']:>8.0f} {r['p50']:>8.1f} "
                f"{r['p99']:>8.1f} {r['max']:>8.1f}"
            )
    report = Report("events_bench")
    for broker, r in results.items():
        a = anchors.get(broker, "not measured")
        a_name = f"{broker} raw publish+ack → pull+ack"
        if isinstance(a, str):
            report.note(f"{broker} anchor {a}")
            a = float("nan")
        else:
            report.figure(a_name, a, "msgs/s")
            if broker in anchor_cpu:
                _cpu_figures(report, f"{broker} raw", anchor_cpu[broker])
        value = float("nan") if isinstance(r, str) else r["throughput"]
        if isinstance(r, str):
            report.note(f"{broker} pipeline {r}")
        report.target(
            f"{broker} end to end (backlog)",
            value,
            ">=",
            TARGETS[broker],
            "events/s",
            anchor=(a_name, a),
        )
        report.ratio_target(
            f"{broker} end to end / raw broker",
            value,
            a,
            ">=",
            TARGET_RATIO,
            anchor_name=a_name,
        )
        if not isinstance(r, str):
            _cpu_figures(report, f"{broker} end to end", r)
            short = r["rate"] < 0.95 * args.rate
            report.target(
                f"{broker} p99 lag at {args.rate}/s",
                r["p99"],
                "<",
                TARGET_P99_MS,
                "ms",
                note=(
                    f"writers reached {r['rate']:.0f}/s of {args.rate}/s"
                    + (": the producer, not the pipeline, set the pace" if short else "")
                ),
            )
    if backlogs:
        print(
            f"\n{args.backlog:,}-event backlog (bulk-loaded, relay stopped), drained; RSS MiB "
            "start / peak / end"
        )
        print(
            f"{'broker':<10} {'events/s':>10} {'seconds':>8} {'relay RSS':>22} {'consumer RSS':>22}"
        )
    for broker, b in backlogs.items():
        if isinstance(b, str):
            print(f"{broker:<10} {b}")
            report.note(f"{broker} {args.backlog:,}-event backlog {b}")
            for process in ("relay", "consumer"):
                report.target(
                    f"{broker} {args.backlog:,} backlog {process} RSS growth",
                    float("nan"),
                    "<",
                    TARGET_RSS_GROWTH_MIB,
                    "MiB",
                )
            continue
        rss = {
            k: f"{b[f'{k}_rss_start']:.0f} / {b[f'{k}_rss_peak']:.0f} / {b[f'{k}_rss_end']:.0f}"
            for k in ("relay", "consumer")
        }
        print(
            f"{broker:<10} {b['drain_rate']:>10.0f} {b['drain_seconds']:>8.0f} "
            f"{rss['relay']:>22} {rss['consumer']:>22}"
        )
        raw = anchors.get(broker)
        report.figure(
            f"{broker} {args.backlog:,} backlog drained",
            b["drain_rate"],
            "events/s",
            anchor=(f"{broker} raw publish+ack → pull+ack", raw)
            if isinstance(raw, float)
            else None,
        )
        report.figure(f"{broker} {args.backlog:,} backlog drain time", b["drain_seconds"], "s")
        report.figure(f"{broker} backlog bulk load into the outbox", b["write_rate"], "rows/s")
        _cpu_figures(report, f"{broker} backlog drain", b)
        for process in ("relay", "consumer"):
            report.figure(
                f"{broker} backlog {process} CPU per event",
                b[f"{process}_cpu_ms_per_event"],
                "ms",
            )
            report.target(
                f"{broker} {args.backlog:,} backlog {process} RSS growth",
                b[f"{process}_rss_peak"] - b[f"{process}_rss_start"],
                "<",
                TARGET_RSS_GROWTH_MIB,
                "MiB",
                note=(
                    f"RSS start {b[f'{process}_rss_start']:.0f}, peak "
                    f"{b[f'{process}_rss_peak']:.0f}, end {b[f'{process}_rss_end']:.0f} MiB; "
                    f"second half of the drain +{b[f'{process}_rss_second_half']:.0f} MiB"
                ),
            )
        report.note(
            f"{broker} backlog exactly once: {b['effects']:,.0f} effect rows, as many distinct "
            f"event ids, for {args.backlog:,} events; no outbox row unsent"
        )
    return report.finish()


def _cpu_figures(report: Report, phase: str, r: dict[str, float]) -> None:
    """Where the machine's CPU went in a phase: on 2 cores a pipeline whose machine is ~100 %
    busy is bound by the CPU of the broker, PostgreSQL and both services together."""
    report.figure(f"{phase}: machine CPU busy", r["machine_busy"] * 100, "%")
    report.figure(f"{phase}: broker CPU per event", r["broker_cpu_ms_per_event"], "ms")
    report.figure(f"{phase}: PostgreSQL CPU per event", r["postgres_cpu_ms_per_event"], "ms")


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(argv))


if __name__ == "__main__":
    raise SystemExit(main())
