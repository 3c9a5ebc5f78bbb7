"""Notifications: task assignments turned into notifications per second, and the unread count's
latency with 100,000 notifications in the table, each beside an anchor measured in the same run.

::

    python -m bench.notifications_bench [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database on the server of ``DATABASE_URL`` (``bench_notifications_<pid>``),
migrates it with the service's migrations, and drops it at the end. It never publishes to a
broker (the platform's streams are shared).

- ``ingest``: the service's real consumer (``notifications.consumers.consumer``) applies
  generated ``tasks.task.assigned`` events as the broker loop does: ``handle_batch`` of 500 (its
  batch size), 4 loops on disjoint users. Each event: its inbox row, one notification (the rules:
  preferences, focus, quiet hours looked up for the batch), its ``delivered`` outbox row and its
  user's mail batch, in one transaction per batch. Anchor: the same batches through a consumer
  whose batch handler does nothing (inbox rows and commits only: the floor of any consumer here;
  ``on_batch``, as notifications' handler of assignments, so neither pays a span per event).
  The two take turns (4 phases of 2 s each), so a change of load moves both. Target ≥ 5,000
  events/s.
- ``unread-count``: ``GET /api/v1/notifications/unread-count`` through the real app (ASGI, token
  verified, unit of work) one request at a time, over 1,000 users of a table filled to 100,000
  notifications (a tenth of them read; one user with 5,000 unread). Anchor: a bare FastAPI app
  answering ``{"count": 0}`` through the same transport (and the SQL count alone on a pooled
  connection, printed beside it). Target p50 < 10 ms.

The report at the end puts each figure beside its anchor (with the ratio) and each target with
met/missed. ``--quick``: 2-second ingestion phases, a table of 20,000, 100 requests a row.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench.harness import Report, do_nothing_consumer, pct_ms, quick, scratch_database_main

TARGET_RATE = 5000.0
TARGET_P50_MS = 10.0
FILL = int(quick(100_000, 20_000))
REQUESTS = int(quick(600, 100))  # per row of the unread count
PHASES = int(quick(4, 1))  # turns of the anchor's and the consumer's ingestion phases


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


def assignment(assignee: uuid.UUID, actor: uuid.UUID, team: uuid.UUID) -> Any:
    from vc_common.events.envelope import CloudEvent
    from vc_common.ids import uuid7

    task = uuid7()
    data = {
        "task_id": str(task),
        "board_id": str(team),
        "team_id": str(team),
        "column_id": str(team),
        "title": "Bench task",
        "assignee_id": str(assignee),
        "priority": "medium",
        "due_date": None,
        "user_id": str(actor),
        "previous_assignee_id": None,
    }
    return CloudEvent(source="tasks", type="tasks.task.assigned", subject=str(task), data=data)


async def bench_ingest(
    db: Any,
    consumer: Any,
    users: list[uuid.UUID],
    *,
    name: str,
    loops: int = 4,
    batch: int = 500,
    seconds: float = quick(8.0, 2.0),
    limit: int = 60_000,
) -> Row:
    done = 0
    errors = 0
    rng = random.Random(11)
    deadline = time.perf_counter() + seconds
    team = uuid.uuid4()
    actor = uuid.uuid4()  # a user who assigns, never assigned: every event notifies

    async def loop(p: int) -> None:
        nonlocal done, errors
        mine = users[p::loops]
        while time.perf_counter() < deadline and done < limit:
            events = [assignment(rng.choice(mine), actor, team) for _ in range(batch)]
            try:
                applied = sum(await consumer.handle_batch(db, events))
                done += applied  # after the await: concurrent loops must not lose updates
            except Exception as exc:
                errors += 1
                print(f"batch failed: {exc!r}", file=sys.stderr)

    t0 = time.perf_counter()
    await asyncio.gather(*(loop(p) for p in range(loops)))
    return Row(name, done, time.perf_counter() - t0, errors=errors)


async def interleaved(
    db: Any, anchor: Any, consumer: Any, users: list[uuid.UUID], *, rounds: int = PHASES
) -> list[Row]:
    """The anchor's and the consumer's phases in turns (``rounds`` of each, a share of the time
    and of the event limit each), summed: a change of the machine's load while the bench runs
    then moves both figures, not only the one measured at that moment."""
    total = {"anchor: inbox only": Row("anchor: inbox only", 0, 0.0)}
    total["ingest: assignments"] = Row("ingest: assignments", 0, 0.0)
    share = {"seconds": quick(8.0, 2.0) / rounds, "limit": 60_000 // rounds}
    for _ in range(rounds):
        for c, row in zip((anchor, consumer), total.values(), strict=True):
            got = await bench_ingest(db, c, users, name=row.name, **share)
            row.count, row.seconds, row.errors = (
                row.count + got.count,
                row.seconds + got.seconds,
                row.errors + got.errors,
            )
    return list(total.values())


async def fill(db: Any, users: list[uuid.UUID], heavy: uuid.UUID) -> int:
    """Top the table up to FILL rows: the heavy user's 5,000 unread, the rest spread over the
    users, a tenth of them read (set-based: this is set-up, not the measured path)."""
    from sqlalchemy import text

    async with db.engine.begin() as conn:
        have = (await conn.execute(text("SELECT count(*) FROM notifications"))).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO notifications (id, recipient_id, title, message, notification_type,"
                " kind, link, is_read, created_at, delivered_at, in_app, email)"
                " SELECT gen_random_uuid(), :heavy, 'Task assigned', 'bench', 'info',"
                " 'task.assigned', '/api/v1/tasks/x', false, now(), now(), true, false"
                " FROM generate_series(1, 5000)"
            ),
            {"heavy": heavy},
        )
        rest = max(0, FILL - int(have) - 5000)
        await conn.execute(
            text(
                "INSERT INTO notifications (id, recipient_id, title, message, notification_type,"
                " kind, link, is_read, created_at, delivered_at, in_app, email)"
                " SELECT gen_random_uuid(), (CAST(:users AS uuid[]))[1 + (i % 1000)],"
                " 'Task assigned', 'bench', 'info', 'task.assigned', '/api/v1/tasks/x',"
                " i % 10 = 0, now() - i * interval '1 second', now(), true, false"
                " FROM generate_series(1, :n) AS i"
            ),
            {"users": users, "n": rest},
        )
        total = (await conn.execute(text("SELECT count(*) FROM notifications"))).scalar_one()
    async with db.engine.connect() as conn:
        conn2 = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn2.execute(text("VACUUM ANALYZE notifications"))
    return int(total)


async def bench_http(
    client: Any, paths_headers: list[tuple[str, dict[str, str]]], *, name: str, n: int = REQUESTS
) -> Row:
    lat: list[float] = []
    errors = 0
    t0 = time.perf_counter()
    for i in range(n):
        path, headers = paths_headers[i % len(paths_headers)]
        s = time.perf_counter()
        r = await client.get(path, headers=headers)
        lat.append(time.perf_counter() - s)
        if r.status_code != 200:
            errors += 1
    return Row(name, n, time.perf_counter() - t0, pct_ms(lat, 50), pct_ms(lat, 99), errors)


async def bench_sql(db: Any, users: list[uuid.UUID], *, n: int = REQUESTS) -> Row:
    """The unread count's query alone, on a pooled connection (what the route adds to it is
    the token check, the unit of work and the framework)."""
    from notifications.models import Notification
    from sqlalchemy import func, not_, select

    lat: list[float] = []
    t0 = time.perf_counter()
    async with db.engine.connect() as conn:
        for i in range(n):
            stmt = (
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.recipient_id == users[i % len(users)],
                    not_(Notification.is_read),
                    Notification.delivered_at.is_not(None),
                    Notification.in_app,
                )
            )
            s = time.perf_counter()
            (await conn.execute(stmt)).scalar_one()
            lat.append(time.perf_counter() - s)
    return Row(
        "anchor: the SQL count alone",
        n,
        time.perf_counter() - t0,
        pct_ms(lat, 50),
        pct_ms(lat, 99),
    )


def bare_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/count")
    async def count() -> dict[str, int]:
        return {"count": 0}

    return app


async def run(database_url: str) -> int:
    rep = Report("notifications_bench")  # now: its load average at the start is the run's
    import httpx
    from sqlalchemy import text
    from vc_common.db import Database
    from vc_common.migrations import migrate
    from vc_common.settings import to_async_url
    from vc_common.testing.keys import TestSigner
    from vc_common.testing.plugin import create_database, drop_database, running

    os.environ["DATABASE_URL"] = database_url
    name = f"bench_notifications_{os.getpid()}"
    url = await create_database(name)
    os.environ["NOTIFICATIONS_DATABASE_URL"] = url
    os.environ["EVENTS_ENABLED"] = "false"
    os.environ["NOTIFICATIONS_RELEASE_INTERVAL_SECONDS"] = "3600"
    os.environ["NOTIFICATIONS_MAIL_INTERVAL_SECONDS"] = "3600"
    os.environ["ENVIRONMENT"] = "test"
    rows: list[Row] = []
    try:
        await migrate("notifications", url)
        from notifications.app import create_app
        from notifications.consumers import consumer

        anchor = do_nothing_consumer("tasks.task.assigned", runs=True)
        db = Database(to_async_url(url), pool_size=10, max_overflow=4)
        users = [uuid.uuid4() for _ in range(1000)]
        try:
            async with db.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO known_users (user_id, username, email, timezone, source_time)"
                        " SELECT u, 'u' || i, 'u' || i || '@example.com', 'UTC', now()"
                        " FROM unnest(CAST(:users AS uuid[])) WITH ORDINALITY AS t(u, i)"
                    ),
                    {"users": users},
                )
            rows.extend(await interleaved(db, anchor, consumer, users))
            async with db.engine.connect() as conn:
                made = (await conn.execute(text("SELECT count(*) FROM notifications"))).scalar_one()
                events = (
                    await conn.execute(
                        text("SELECT count(*) FROM outbox WHERE type LIKE 'notifications.%'")
                    )
                ).scalar_one()
            heavy = users[0]
            total = await fill(db, users, heavy)

            signer = TestSigner()
            app = create_app()
            async with running(app, db, signer):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                    targets = [
                        (
                            "/api/v1/notifications/unread-count",
                            {"Authorization": f"Bearer {signer.token(u, username='b')}"},
                        )
                        for u in users[:200]
                    ]
                    await bench_http(client, targets, name="warm-up", n=100)
                    rows.append(await bench_http(client, targets, name="unread-count (200 users)"))
                    heavy_t = [
                        (
                            "/api/v1/notifications/unread-count",
                            {"Authorization": f"Bearer {signer.token(heavy, username='h')}"},
                        )
                    ]
                    rows.append(
                        await bench_http(
                            client, heavy_t, name="unread-count (5,000 unread)", n=REQUESTS // 2
                        )
                    )
                    resp = await client.get(*heavy_t[0][:1], headers=heavy_t[0][1])
                    heavy_count = resp.json()["count"]
                bare = httpx.ASGITransport(app=bare_app())
                async with httpx.AsyncClient(transport=bare, base_url="http://b") as client:
                    await bench_http(client, [("/count", {})], name="warm-up", n=100)
                    rows.insert(
                        2, await bench_http(client, [("/count", {})], name="anchor: bare FastAPI")
                    )
            rows.insert(3, await bench_sql(db, users[:200]))
        finally:
            await db.dispose()
    finally:
        await drop_database(name)

    print(
        f"\nnotifications ({made} made from {rows[1].count} events, {events} delivered events;"
        f" table filled to {total}; heavy user {heavy_count} unread; PostgreSQL {database_url})\n"
    )
    print(f"{'run':<30}{'count':>8}{'s':>7}{'per s':>10}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}")
    for r in rows:
        p50 = f"{r.p50_ms:.2f}" if r.p50_ms is not None else "-"
        p99 = f"{r.p99_ms:.2f}" if r.p99_ms is not None else "-"
        print(
            f"{r.name:<30}{r.count:>8}{r.seconds:>7.1f}{r.per_second:>10.0f}{p50:>9}{p99:>9}"
            f"{r.errors:>5}"
        )
    inbox_only, ingest, bare_row, sql, *unread = rows
    rep.target(
        "assignments turned into notifications",
        ingest.per_second,
        ">=",
        TARGET_RATE,
        "events/s",
        anchor=("the same batches, inbox only", inbox_only.per_second),
    )
    rep.target(
        "events without exactly one notification",
        abs(made - ingest.count),
        "<=",
        0,
        "events",
        note=f"{made} made from {ingest.count} events",
    )
    rep.figure("the SQL count alone p50", sql.p50_ms or float("nan"), "ms")
    for row in unread:
        a = ("bare FastAPI", bare_row.p50_ms or float("nan"))
        rep.target(
            f"{row.name} p50", row.p50_ms or float("nan"), "<", TARGET_P50_MS, "ms", anchor=a
        )
        a = ("bare FastAPI", bare_row.p99_ms or float("nan"))
        rep.figure(f"{row.name} p99", row.p99_ms or float("nan"), "ms", anchor=a)
    return rep.finish()


def main(argv: list[str] | None = None) -> int:
    return scratch_database_main("python -m bench.notifications_bench", __doc__, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
