"""Calendar: a month's range query through the gateway, and 10,000 reminders due at once.

::

    python -m bench.calendar_bench [--gateway http://127.0.0.1:$GATEWAY_PORT] [--database-url ...]

``range`` (against a running platform, ``make run``): registers a bench user, makes 5 teams and
2,000 events through the gateway (1,900 single events spread over 2027, 100 series: 30
weekday standups ``FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR``, 50 weekly meetings, 20 monthly ones, in
Europe/Berlin and America/New_York), then measures ``GET /api/v1/calendar/events?from=2027-03-01
&to=2027-04-01`` (every occurrence the user may see in March 2027, the DST change included:
~1,000 items computed, the first page returned) one request at a time: p50 / p99 for the default
page (50) and the largest (200). Anchor, measured in the same run: ``GET
/api/v1/calendar/events/{unknown id}`` (the gateway, the token check and one indexed lookup:
the floor of any calendar request). Target: p50 < 30 ms for the default page.

``reminders`` (a scratch database on the server of ``DATABASE_URL``, dropped at the end; events
are written to its outbox, never published: ``EVENTS_ENABLED=false``): 10,000 reminders due at
the same minute, and two calendar apps (two replicas: two engines, their real scheduler loops,
``CALENDAR_REMINDER_INTERVAL_SECONDS=2``) racing for them. Measured: from the due moment to the
last one fired, and that each was fired exactly once (10,000 deliveries, 10,000 distinct
``calendar.reminder.due`` outbox rows). Anchor: two workers claiming and updating 10,000 bare
rows in batches of 500 with ``FOR UPDATE SKIP LOCKED`` (the floor of such a scheduler on this
server). Target: all fired within 10 s.

The report at the end puts each figure beside its anchor (with the ratio) and each target with
met/missed; without a gateway the range target is "missed" (not measured). ``--quick``: 2,000
reminders, 20 range requests per row.

Give the gateway rate limits a benchmark does not trip (``GATEWAY_RATE_PER_USER=off
GATEWAY_RATE_PER_IP=off``). Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.harness import Report, gateway_url, http_ok, pct_ms, quick, register_and_login

TARGET_RANGE_P50_MS = 30.0
TARGET_REMINDERS_S = 10.0
N_REMINDERS = int(quick(10_000, 2_000))
RANGE_TARGET = "month range p50 (limit 50)"


def z(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_bodies(team_ids: list[str], rng: random.Random) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    year = datetime(2027, 1, 1, tzinfo=UTC)
    for i in range(1900):
        start = year + timedelta(minutes=15 * rng.randrange(0, 365 * 24 * 4))
        bodies.append(
            {
                "title": f"Event {i}",
                "team_id": team_ids[i % len(team_ids)],
                "start_time": z(start),
                "end_time": z(start + timedelta(minutes=rng.choice((15, 30, 60, 90)))),
                "event_type": rng.choice(("meeting", "other", "reminder")),
                "location": "Room 1" if i % 3 == 0 else None,
            }
        )
    # 100 series, first occurrence in January 2027 (each start is its rule's first occurrence)
    for i in range(100):
        tz = "Europe/Berlin" if i % 2 == 0 else "America/New_York"
        hour = 8 if tz == "Europe/Berlin" else 14  # 09:00 local in January, in UTC
        if i < 30:
            day, rule = 4, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"  # Monday 2027-01-04
        elif i < 80:
            day, rule = 5 + (i % 5), "FREQ=WEEKLY"
        else:
            day, rule = 11 + (i % 15), "FREQ=MONTHLY"
        start = datetime(2027, 1, day, hour, tzinfo=UTC)
        bodies.append(
            {
                "title": f"Series {i}",
                "team_id": team_ids[i % len(team_ids)],
                "start_time": z(start),
                "end_time": z(start + timedelta(minutes=30)),
                "event_type": "meeting",
                "timezone": tz,
                "recurrence": rule,
            }
        )
    return bodies


async def bench_range(rep: Report, gateway: str, reads: int, concurrency: int) -> list[str]:
    lines: list[str] = []
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=gateway, timeout=30.0, limits=limits) as client:
        h = await register_and_login(client, "calbench")
        team_ids = [
            (
                await http_ok(
                    await client.post("/api/v1/teams", json={"name": f"T{i}"}, headers=h), 201
                )
            )["id"]
            for i in range(5)
        ]
        bodies = event_bodies(team_ids, random.Random(5))
        sem = asyncio.Semaphore(concurrency)
        t0 = time.perf_counter()

        async def create(body: dict[str, Any]) -> None:
            async with sem:
                await http_ok(
                    await client.post("/api/v1/calendar/events", json=body, headers=h), 201
                )

        await asyncio.gather(*(create(b) for b in bodies))
        lines.append(f"created {len(bodies)} events in 5 teams in {time.perf_counter() - t0:.1f}s")
        month = {"from": "2027-03-01", "to": "2027-04-01"}
        first = await http_ok(
            await client.get("/api/v1/calendar/events", params={**month, "limit": 200}, headers=h),
            200,
        )
        total, cursor = len(first["items"]), first["next_cursor"]
        while cursor:
            page = await http_ok(
                await client.get(
                    "/api/v1/calendar/events",
                    params={**month, "limit": 200, "cursor": cursor},
                    headers=h,
                ),
                200,
            )
            total += len(page["items"])
            cursor = page["next_cursor"]
        lines.append(f"March 2027 holds {total} items (occurrences included) for this user")

        targets: list[tuple[str, dict[str, Any] | None, int]] = [
            (f"/api/v1/calendar/events/{uuid.uuid4()}", None, 404),
            ("/api/v1/calendar/events", month, 200),
            ("/api/v1/calendar/events", {**month, "limit": 200}, 200),
        ]
        for path, params, _ in targets * 5:  # warm-up: connections, caches, the projection
            await client.get(path, params=params, headers=h)
        # interleaved, so that the anchor and the figures see the same (shared) machine
        samples: list[list[float]] = [[], [], []]
        deadline = time.perf_counter() + 90
        for _ in range(reads):
            for k, (path, params, expect) in enumerate(targets):
                t = time.perf_counter()
                r = await client.get(path, params=params, headers=h)
                samples[k].append(time.perf_counter() - t)
                if r.status_code != expect:
                    raise RuntimeError(f"{path} answered {r.status_code}: {r.text[:200]}")
            if time.perf_counter() > deadline:
                break
        anchor, page50, page200 = samples
    head = f"{'request':<48}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}"
    lines += [head, "-" * len(head)]
    for name, s in (
        ("anchor: GET /calendar/events/{unknown} (404)", anchor),
        ("GET /calendar/events March 2027 (limit 50)", page50),
        ("GET /calendar/events March 2027 (limit 200)", page200),
    ):
        lines.append(f"{name:<48}{len(s):>6}{pct_ms(s, 50):>9.1f}{pct_ms(s, 99):>9.1f}")
    a_name = "GET /calendar/events/{unknown} (404)"
    for limit, s in ((50, page50), (200, page200)):
        for q in (50, 99):
            name = f"month range p{q} (limit {limit})"
            value, a = pct_ms(s, q), (a_name, pct_ms(anchor, q))
            if (limit, q) == (50, 50):
                rep.target(RANGE_TARGET, value, "<", TARGET_RANGE_P50_MS, "ms", anchor=a)
            else:
                rep.figure(name, value, "ms", anchor=a)
    return lines


async def bench_reminders(rep: Report, database_url: str, boot_timeout: float = 120.0) -> list[str]:
    from sqlalchemy import func, insert, select, text
    from vc_common.migrations import migrate
    from vc_common.testing.plugin import create_database, drop_database

    os.environ["DATABASE_URL"] = database_url
    name = f"bench_calendar_{os.getpid()}"
    url = await create_database(name)
    lines: list[str] = []
    try:
        await migrate("calendar", url)
        os.environ.update(
            {
                "CALENDAR_DATABASE_URL": url,
                "EVENTS_ENABLED": "false",
                "CALENDAR_REMINDER_INTERVAL_SECONDS": "2",
                "ENVIRONMENT": "development",
            }
        )
        from vc_calendar.models import CalendarEvent, Reminder, ReminderDelivery, event_tables

        # seeded not due; made due at once, at one moment, once both replicas are up and idle
        later = datetime(2100, 1, 1, tzinfo=UTC)
        start = later + timedelta(minutes=15)
        owner = uuid.uuid4()
        events = [
            {
                "id": uuid.uuid4(),
                "title": f"bench {i}",
                "start_time": start,
                "end_time": start + timedelta(minutes=30),
                "event_type": "meeting",
                "created_by_id": owner,
                "timezone": "UTC",
                "series_end": start + timedelta(minutes=30),
            }
            for i in range(N_REMINDERS)
        ]
        from vc_common.db import Database
        from vc_common.settings import to_async_url

        db = Database(to_async_url(url), pool_size=4, max_overflow=0)
        try:
            async with db.unit_of_work() as session:
                await session.execute(insert(CalendarEvent), events)
                await session.execute(
                    insert(Reminder),
                    [
                        {
                            "id": uuid.uuid4(),
                            "event_id": e["id"],
                            "reminder_type": "notification",
                            "minutes_before": 15,
                            "created_by_id": owner,
                            "next_occurrence_start": start,
                            "next_fire_at": later,
                        }
                        for e in events
                    ],
                )
            # the anchor: two bare claimers over 10,000 rows on the same server
            async with db.unit_of_work() as session:
                await session.execute(
                    text(
                        "CREATE TABLE anchor_rows (id serial PRIMARY KEY, due timestamptz, "
                        "done boolean NOT NULL DEFAULT false)"
                    )
                )
                await session.execute(
                    text("INSERT INTO anchor_rows (due) SELECT now() FROM generate_series(1, :n)"),
                    {"n": N_REMINDERS},
                )

            async def claimer() -> None:
                while True:
                    async with db.unit_of_work() as session:
                        n = (
                            await session.execute(
                                text(
                                    "WITH c AS (SELECT id FROM anchor_rows WHERE NOT done "
                                    "ORDER BY due LIMIT 500 FOR UPDATE SKIP LOCKED) "
                                    "UPDATE anchor_rows a SET done = true FROM c WHERE a.id = c.id "
                                    "RETURNING a.id"
                                )
                            )
                        ).all()
                    if not n:
                        return

            t0 = time.perf_counter()
            await asyncio.gather(claimer(), claimer())
            anchor_s = time.perf_counter() - t0

            # two replicas, each its own process (its own interpreter, engine and scheduler)
            env = {**os.environ, "LOG_LEVEL": "WARNING"}
            procs = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.calendar_bench",
                    "--replica",
                    str(N_REMINDERS),
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                )
                for _ in range(2)
            ]
            for proc in procs:  # each says "ready" once its scheduler loop runs
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), boot_timeout)
                if line.strip() != b"ready":
                    raise RuntimeError(f"a replica did not start: {line!r}")
            await asyncio.sleep(2.5)  # a tick of each has run (every 2 s): idle, up to date
            due = datetime.now(UTC) + timedelta(seconds=1)
            async with db.unit_of_work() as session:
                # the same minute for all: due in a second, their events 15 minutes after that
                await session.execute(
                    text(
                        "UPDATE reminders SET next_fire_at = :due, next_occurrence_start = :start"
                    ),
                    {"due": due, "start": due + timedelta(minutes=15)},
                )
                await session.execute(
                    text(
                        "UPDATE calendar_events SET start_time = :start, end_time = :end, "
                        "series_end = :end"
                    ),
                    {"start": due + timedelta(minutes=15), "end": due + timedelta(minutes=45)},
                )
            fired_at = None
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                async with db.sessionmaker() as session:
                    n = await session.scalar(select(func.count()).select_from(ReminderDelivery))
                if (n or 0) >= N_REMINDERS:
                    fired_at = datetime.now(UTC)
                    break
                await asyncio.sleep(0.05)
            for proc in procs:
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            async with db.sessionmaker() as session:
                deliveries = await session.scalar(
                    select(func.count()).select_from(ReminderDelivery)
                )
                outbox = event_tables.outbox
                rows = await session.scalar(
                    select(func.count()).where(outbox.c.type == "calendar.reminder.due")
                )
                distinct = await session.scalar(
                    select(
                        func.count(
                            func.distinct(
                                outbox.c.payload["data"]["reminder_id"].astext
                                + outbox.c.payload["data"]["occurrence_start"].astext
                            )
                        )
                    ).where(outbox.c.type == "calendar.reminder.due")
                )
                by_tick = await session.execute(
                    select(ReminderDelivery.sent_at, func.count())
                    .group_by(ReminderDelivery.sent_at)
                    .order_by(ReminderDelivery.sent_at)
                )
                ticks = by_tick.all()
        finally:
            await db.dispose()
    finally:
        await drop_database(name)
    took = (fired_at - due).total_seconds() if fired_at else float("inf")
    once = deliveries == rows == distinct == N_REMINDERS
    anchor = (f"two bare SKIP LOCKED claimers of {N_REMINDERS}", anchor_s)
    lines.append(
        f"{N_REMINDERS} reminders due at {due:%H:%M:%S}, two replicas: all fired "
        f"{took:.2f}s after the due moment, in {len(ticks)} ticks"
    )
    if os.environ.get("CALENDAR_BENCH_TICKS"):
        lines.append(" ".join(f"+{(at - due).total_seconds():.1f}s:{n}" for at, n in ticks))
    lines.append(
        f"deliveries {deliveries}, calendar.reminder.due outbox rows {rows} "
        f"({distinct} distinct): {'exactly once' if once else 'NOT exactly once'}"
    )
    lines.append(
        f"anchor: two bare SKIP LOCKED claimers over {N_REMINDERS} rows: {anchor_s:.2f}s "
        f"(the scheduler took {took / anchor_s:.1f}x that)"
    )
    rep.target(
        f"{N_REMINDERS} reminders due at once: all fired after",
        took,
        "<",
        TARGET_REMINDERS_S,
        "s",
        anchor=anchor,
    )
    rep.target(
        "reminders not fired exactly once",
        abs(deliveries - N_REMINDERS) + abs(rows - N_REMINDERS) + abs(distinct - N_REMINDERS),
        "<=",
        0,
        "reminders",
        note=f"deliveries {deliveries}, outbox rows {rows}, distinct {distinct}",
    )
    return lines


async def replica(expected: int) -> None:
    """One calendar replica (``--replica``): the app with its scheduler loop, until ``expected``
    deliveries exist (at most 60 s)."""
    from sqlalchemy import func, select
    from vc_calendar.app import create_app
    from vc_calendar.models import ReminderDelivery

    app = create_app()
    async with app.router.lifespan_context(app):
        print("ready", flush=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            async with app.state.db.sessionmaker() as session:
                n = await session.scalar(select(func.count()).select_from(ReminderDelivery))
            if (n or 0) >= expected:
                return


async def gateway_up(gateway: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=gateway, timeout=3) as client:
            return (await client.get("/livez")).status_code == 200
    except httpx.HTTPError:
        return False


async def run(args: argparse.Namespace) -> int:
    rep = Report("calendar_bench")
    if "reminders" in args.parts:
        lines = await bench_reminders(rep, args.database_url)
        print("\ncalendar reminders\n" + "\n".join(lines))
    if "range" in args.parts:
        if not await gateway_up(args.gateway):
            print(f"\ncalendar range: no gateway at {args.gateway} (start `make run`); skipped")
            rep.target(
                RANGE_TARGET,
                float("nan"),
                "<",
                TARGET_RANGE_P50_MS,
                "ms",
                note=f"not measured: no gateway at {args.gateway}",
            )
        else:
            lines = await bench_range(rep, args.gateway, args.reads, args.concurrency)
            print("\ncalendar range query through the gateway\n" + "\n".join(lines))
    return rep.finish()


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.calendar_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--gateway", default=gateway_url(), help="default: where `make run` puts it"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument(
        "--reads", type=int, default=int(quick(200, 20)), help="range requests per row (max)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="clients creating events")
    parser.add_argument("--replica", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "parts", nargs="*", default=["reminders", "range"], help="reminders and/or range"
    )
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if args.replica:
        asyncio.run(replica(args.replica))
        return 0
    try:
        return asyncio.run(run(args))
    except (httpx.HTTPError, RuntimeError) as exc:
        print(f"calendar bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
