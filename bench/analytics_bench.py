"""Analytics: events ingested per second, and completion-to-aggregate latency.

::

    python -m bench.analytics_bench [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database on the server of ``DATABASE_URL`` (``bench_analytics_<pid>``), migrates
it with the service's Alembic migrations, drives the service's real consumer
(``analytics.consumers.consumer``: inbox row, raw log row and upserts in one transaction per
event or batch) with generated ``tasks.task.completed`` (70 %) and ``focus.session.ended`` (30 %)
events over 50 teams and 500 users, and drops the database at the end. It never publishes to a
broker: the platform's streams are shared, and fake events there would reach other consumers.

Measured:

- ``batch``: ingestion as the consumer loop does it (``handle_batch`` of 500, the analytics
  consumer's batch size, one transaction per batch), 4 loops on disjoint teams; events/s;
- ``single``: one transaction per event (``handle``), 16 at a time; events per second;
- ``latency@500/s``: events produced at 500 per second; one loop applies whatever has arrived
  (up to 500) per transaction, like the broker consumer's pull loop; the time from the task's
  completion (the event's creation) to the committed aggregate, p50/p99 (no broker hop).

**Anchor**, measured in the same run, just before each of the three: the same work through a
consumer whose handler does nothing (:func:`bench.harness.do_nothing_consumer`, registered with
``on_batch`` like analytics' counting handler): the very same batches of events for ``batch``,
the same loops, concurrency, rate and database for ``single`` and ``latency``. What it costs is
the inbox rows and the transactions, the floor of any consumer here; so the ratio is analytics'
own cost, its counting (lookups, raw log rows, upserts: ``count_batch``), and nothing else.
Chosen over raw asyncpg upserts of the same aggregates: those would leave the consumer machinery
(inbox, unit of work, libs/common) inside the ratio beside analytics' code, and measure
PostgreSQL running statements analytics chose rather than the service's cost; and a copy of
its SQL in the bench would drift from the service's.

Targets: ≥ 10,000 events/s; p99 < 250 ms at 500 events/s; the report at the end prints each
figure beside its anchor with the ratio. Bounded: about a minute (``--quick``: 4,000 events a
batch run, 2-3 s phases).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import Report, do_nothing_consumer, pct_ms, quick, scratch_database_main

TARGET_RATE = 10_000.0  # issue 21
TARGET_P99_MS = 250.0
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    name: str
    count: int
    seconds: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


class Generator:
    """Events in the producers' shapes; each user works in one team (partition = team % n)."""

    def __init__(self, teams: int = 50, users_per_team: int = 10, seed: int = 7) -> None:
        from vc_common.ids import uuid7

        self.uuid7 = uuid7
        self.rng = random.Random(seed)
        self.teams = [uuid7() for _ in range(teams)]
        self.members = {t: [uuid7() for _ in range(users_per_team)] for t in self.teams}

    def event(self, partition: int = 0, partitions: int = 1, at: datetime | None = None) -> Any:
        from vc_common.events.envelope import CloudEvent

        team = self.rng.choice(self.teams[partition::partitions])
        user = self.rng.choice(self.members[team])
        at = at or datetime.now(UTC) - timedelta(minutes=self.rng.randrange(0, 60 * 24 * 7))
        stamp = at.isoformat().replace("+00:00", "Z")
        if self.rng.random() < 0.7:
            data: dict[str, Any] = {
                "task_id": str(self.uuid7()),
                "board_id": str(self.uuid7()),
                "team_id": str(team),
                "column_id": str(self.uuid7()),
                "title": "bench",
                "assignee_id": str(self.rng.choice(self.members[team])),
                "priority": "medium",
                "due_date": None,
                "user_id": str(user),
                "completed_at": stamp,
            }
            return CloudEvent(
                source="tasks", type="tasks.task.completed", subject=data["task_id"], data=data
            )
        minutes = self.rng.randrange(5, 90)
        start = at - timedelta(minutes=minutes)
        data = {
            "session_id": str(self.uuid7()),
            "user_id": str(user),
            "team_id": str(team),
            "task_id": None,
            "focus_type": "custom",
            "start_time": start.isoformat().replace("+00:00", "Z"),
            "planned_end_time": stamp,
            "end_time": stamp,
            "planned_minutes": minutes,
            "actual_minutes": minutes,
            "is_completed": True,
            "interruptions": 0,
            "minutes_by_day": {at.date().isoformat(): minutes},
            "timezone": "UTC",
            "minutes": minutes,
            "ended_by": "user",
        }
        return CloudEvent(
            source="focus", type="focus.session.ended", subject=data["session_id"], data=data
        )


def make_batches(gen: Generator, *, loops: int, batch: int, limit: int) -> list[list[list[Any]]]:
    """Each loop's batches, made before the clock starts: generating the events (pydantic,
    uuid7) was a third of the measured time in the profile, and it is not ingestion."""
    per_loop = max(1, -(-limit // (loops * batch)))
    return [
        [[gen.event(p, loops) for _ in range(batch)] for _ in range(per_loop)] for p in range(loops)
    ]


async def bench_batch(
    db: Any,
    consumer: Any,
    ready: list[list[list[Any]]],
    *,
    seconds: float = 8.0,
    limit: int = 40_000,
    label: str = "",
) -> Row:
    """Each loop applies its batches (``handle_batch``) until ``seconds`` or ``limit``."""
    done = 0
    errors = 0
    deadline = 0.0  # set when the clock starts
    loops, batch = len(ready), len(ready[0][0])

    async def loop(p: int) -> None:
        nonlocal done, errors
        for events in ready[p]:
            if time.perf_counter() >= deadline or done >= limit:
                break
            try:
                applied = sum(await consumer.handle_batch(db, events))
                done += applied  # after the await: concurrent loops must not lose updates
            except Exception as exc:
                errors += 1
                print(f"batch failed: {exc!r}", file=sys.stderr)

    t0 = time.perf_counter()
    deadline = t0 + seconds
    await asyncio.gather(*(loop(p) for p in range(loops)))
    return Row(
        f"{label}batch ({loops} loops x {batch})", done, time.perf_counter() - t0, errors=errors
    )


async def bench_single(
    db: Any,
    consumer: Any,
    gen: Generator,
    *,
    concurrency: int = 16,
    seconds: float = quick(6.0, 2.0),
    limit: int = 30_000,
    label: str = "",
) -> Row:
    done = 0
    errors = 0
    lat: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline and done < limit:
            e = gen.event()
            s = time.perf_counter()
            try:
                applied = await consumer.handle(db, e)
                done += applied  # after the await (see bench_batch)
            except Exception as exc:
                errors += 1
                print(f"event failed: {exc!r}", file=sys.stderr)
            lat.append(time.perf_counter() - s)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Row(
        f"{label}single ({concurrency} concurrent)",
        done,
        time.perf_counter() - t0,
        pct_ms(lat, 50),
        pct_ms(lat, 99),
        errors,
    )


async def bench_latency(
    db: Any,
    consumer: Any,
    gen: Generator,
    *,
    rate: float = 500.0,
    seconds: float = quick(8.0, 3.0),
    max_batch: int = 500,
    label: str = "",
) -> Row:
    """Open loop: an event every 1/rate s; one consumer loop takes whatever has arrived (up to
    ``max_batch``) and applies it in one transaction, as the broker consumer's pull loop does."""
    lat: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[float, Any] | None] = asyncio.Queue()

    async def consume() -> None:
        nonlocal errors
        while True:
            item = await queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < max_batch and not queue.empty():
                nxt = queue.get_nowait()
                if nxt is None:
                    queue.put_nowait(None)
                    break
                batch.append(nxt)
            try:
                await consumer.handle_batch(db, [e for _, e in batch])
            except Exception:
                errors += len(batch)
                continue
            now = time.perf_counter()
            lat.extend(now - created for created, _ in batch)

    worker = asyncio.create_task(consume())
    n = int(rate * seconds)
    t0 = time.perf_counter()
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((time.perf_counter(), gen.event(at=datetime.now(UTC))))
    queue.put_nowait(None)
    await asyncio.wait_for(worker, timeout=20)
    return Row(
        f"{label}latency @ {rate:.0f}/s",
        len(lat),
        time.perf_counter() - t0,
        pct_ms(lat, 50),
        pct_ms(lat, 99),
        errors,
    )


async def check_totals(db: Any) -> tuple[int, int]:
    from sqlalchemy import text

    async with db.engine.connect() as conn:
        logged = (await conn.execute(text("SELECT count(*) FROM analytics_events"))).scalar_one()
        counted = (
            await conn.execute(text("SELECT coalesce(sum(completed_tasks), 0) FROM team_analytics"))
        ).scalar_one()
    return int(logged), int(counted)


async def run(database_url: str) -> int:
    report = Report("analytics_bench")  # now: its load average at the start is the run's
    from analytics.consumers import consumer
    from vc_common.db import Database
    from vc_common.migrations import migrate
    from vc_common.settings import to_async_url
    from vc_common.testing.plugin import create_database, drop_database

    os.environ["DATABASE_URL"] = database_url
    name = f"bench_analytics_{os.getpid()}"
    url = await create_database(name)
    rows: list[Row] = []
    try:
        await migrate("analytics", url)
        db = Database(to_async_url(url), pool_size=20, max_overflow=4)
        gen = Generator()
        anchor = do_nothing_consumer("tasks.task.completed", "focus.session.ended", runs=True)
        limit = int(quick(40_000, 4_000))
        ready = make_batches(gen, loops=4, batch=500, limit=limit)
        seconds = quick(8.0, 3.0)
        a = "inbox only: "
        try:
            # each anchor just before its figure, so that the two see the same machine
            rows.append(await bench_batch(db, anchor, ready, limit=limit, seconds=seconds, label=a))
            rows.append(await bench_batch(db, consumer, ready, limit=limit, seconds=seconds))
            rows.append(await bench_single(db, anchor, gen, label=a))
            rows.append(await bench_single(db, consumer, gen))
            rows.append(await bench_latency(db, anchor, gen, label=a))
            rows.append(await bench_latency(db, consumer, gen))
            logged, _ = await check_totals(db)
        finally:
            await db.dispose()
    finally:
        await drop_database(name)

    print(f"\nanalytics ingestion ({logged} events logged; PostgreSQL {database_url})\n")
    print(f"{'run':<42}{'events':>8}{'s':>7}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}")
    for r in rows:
        p50 = f"{r.p50_ms:.1f}" if r.p50_ms is not None else "-"
        p99 = f"{r.p99_ms:.1f}" if r.p99_ms is not None else "-"
        print(
            f"{r.name:<42}{r.count:>8}{r.seconds:>7.1f}{r.per_second:>10.0f}{p50:>9}{p99:>9}"
            f"{r.errors:>5}"
        )
    (a_batch, batch), (a_single, single), (a_lat, lat) = zip(rows[::2], rows[1::2], strict=True)
    best, a_best = max(((batch, a_batch), (single, a_single)), key=lambda r: r[0].per_second)
    for row, a_row in ((batch, a_batch), (single, a_single)):
        report.figure(row.name, row.per_second, "events/s", anchor=(a_row.name, a_row.per_second))
    report.target(
        "analytics ingestion into aggregates (best)",
        best.per_second,
        ">=",
        TARGET_RATE,
        "events/s",
        anchor=(a_best.name, a_best.per_second),
        note="inbox + raw log + upserts committed together: exactly once",
    )
    nan = float("nan")
    report.figure(
        "completion → aggregate p50 at 500/s",
        lat.p50_ms or nan,
        "ms",
        anchor=(a_lat.name, a_lat.p50_ms or nan),
    )
    report.target(
        "completion → aggregate p99 at 500/s",
        lat.p99_ms or float("inf"),
        "<",
        TARGET_P99_MS,
        "ms",
        anchor=(a_lat.name, a_lat.p99_ms or nan),
    )
    if any(r.errors for r in rows):
        report.note("errors: " + ", ".join(f"{r.name} {r.errors}" for r in rows if r.errors))
    return report.finish()


def main(argv: list[str] | None = None) -> int:
    return scratch_database_main("python -m bench.analytics_bench", __doc__, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
