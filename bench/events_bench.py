"""Event backbone benchmark: outbox → relay → broker → consumer, per broker.

``python -m bench.events_bench`` (from the repository root) or ``main()``. Needs PostgreSQL
(``DATABASE_URL``), NATS (``NATS_URL``) and RabbitMQ (``RABBITMQ_URL``); a broker that cannot be
reached is skipped. Prints, per broker:

- throughput: N events written to the outbox up front (in transactions of 100), then the time
  until the consumer has applied the last one (inbox + effect row committed): events/s end to end;
- lag at a fixed rate: events written one per transaction at 500/s for a few seconds; lag =
  effect commit time - the event's ``time``; p50 / p99 / max.

Targets: ≥ 3,000 events/s; p99 lag < 250 ms at 500/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
import uuid
from datetime import UTC, datetime

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
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.db import Database
from vc_common.events.bus import bus_from_url
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.events.nats import NatsBus
from vc_common.events.outbox import add_event
from vc_common.events.relay import OutboxRelay
from vc_common.events.tables import install_event_tables
from vc_common.testing.plugin import create_database, drop_database

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


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def _count(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(effects))).scalar_one())


async def _wait_for(db: Database, n: int, limit: float) -> float:
    deadline = time.monotonic() + limit
    while (await _count(db)) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {await _count(db)} of {n} events arrived")
        await asyncio.sleep(0.02)
    return time.monotonic()


def make_consumer(ctx: str) -> Consumer:
    consumer = Consumer(f"bench-{ctx}", batch_size=200)
    stmt = insert(effects)  # built once: a handler's effect is one INSERT round trip

    @consumer.on(f"{ctx}.>")
    async def apply(session: AsyncSession, event: CloudEvent) -> None:
        lag = (datetime.now(UTC) - event.time).total_seconds() * 1000
        await session.execute(
            stmt, {"event_id": event.id, "subject": event.subject, "lag_ms": int(lag)}
        )

    return consumer


async def _consume(url: str, db_url: str, ctx: str) -> None:
    db = Database(db_url, pool_size=4, max_overflow=4)
    bus = bus_from_url(url)
    await bus.connect()
    try:
        await make_consumer(ctx).run(db, bus)
    finally:
        await bus.close()
        await db.dispose()


def consumer_process(url: str, db_url: str, ctx: str) -> None:
    """The consuming service runs in its own process, as in production."""
    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_consume(url, db_url, ctx))


async def run_broker(
    url: str, db: Database, *, n: int, rate: int, seconds: float
) -> dict[str, float]:
    ctx = f"bench{uuid.uuid4().hex[:8]}"
    consumer = make_consumer(ctx)
    bus = bus_from_url(url)
    await bus.connect()
    relay_bus = bus_from_url(url)  # the relay's own connection, as in a separate process
    await relay_bus.connect()
    async with db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox, inbox, bench_effects"))
    await bus.ensure_consumer(consumer.spec())
    proc = multiprocessing.get_context("spawn").Process(
        target=consumer_process,
        args=(url, db.engine.url.render_as_string(hide_password=False), ctx),
        daemon=True,
    )
    proc.start()
    relay = OutboxRelay(db, tables, relay_bus, service=ctx, batch_size=500, poll_interval=0.5)
    try:
        # 1. throughput: backlog of n events
        subjects = [str(uuid.uuid4()) for _ in range(200)]
        for k in range(0, n, 100):
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
        t0 = time.monotonic()
        relay.start()
        t1 = await _wait_for(db, n, 120)
        throughput = n / (t1 - t0)

        # 2. lag at a fixed rate, one event per transaction
        async with db.engine.begin() as conn:
            await conn.execute(text("TRUNCATE bench_effects"))
        total = int(rate * seconds)
        gate = asyncio.Semaphore(8)  # like concurrent requests of a service

        async def produce(i: int) -> None:
            async with gate, db.unit_of_work() as session:
                await add_event(
                    session,
                    tables,
                    source=ctx,
                    type=f"{ctx}.item.changed",
                    subject=subjects[i % len(subjects)],
                    data={"i": i},
                )

        producers = []
        start = time.monotonic()
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            producers.append(asyncio.create_task(produce(i)))
        await asyncio.gather(*producers)
        achieved = total / (time.monotonic() - start)
        await _wait_for(db, total, 60)
        async with db.engine.connect() as conn:
            lags = [float(r[0]) for r in await conn.execute(select(effects.c.lag_ms))]
        return {
            "throughput": throughput,
            "rate": achieved,
            "p50": _pct(lags, 50),
            "p99": _pct(lags, 99),
            "max": max(lags),
        }
    finally:
        await relay.stop()
        proc.terminate()
        proc.join(10)
        with contextlib.suppress(Exception):
            await bus.delete_consumer(consumer.spec())
            if isinstance(bus, NatsBus):
                await bus.delete_context(ctx)
        await bus.close()
        await relay_bus.close()


async def amain(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--events", type=int, default=20_000, help="throughput backlog size")
    p.add_argument("--rate", type=int, default=500, help="events/s for the lag measurement")
    p.add_argument("--seconds", type=float, default=6.0, help="duration of the lag measurement")
    p.add_argument("--broker", choices=sorted(BROKERS), action="append")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    name = f"bench_events_{os.getpid()}"
    db = Database(await create_database(name), pool_size=10, max_overflow=10)
    results: dict[str, dict[str, float] | str] = {}
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        for broker in args.broker or sorted(BROKERS):
            try:
                results[broker] = await run_broker(
                    BROKERS[broker], db, n=args.events, rate=args.rate, seconds=args.seconds
                )
            except Exception as exc:
                results[broker] = f"skipped: {exc!r}"
    finally:
        await db.dispose()
        await drop_database(name)
    print(
        f"\noutbox → relay → broker → consumer ({args.events} events backlog; "
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
    print("targets: >= 3000 events/s; p99 < 250 ms at 500/s")
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(argv))


if __name__ == "__main__":
    raise SystemExit(main())
