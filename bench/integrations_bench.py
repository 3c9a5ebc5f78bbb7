"""Integrations: a Google Calendar full sync of 5,000 events and an incremental sync of 50
changes; 1,000 integrations due for refresh in the same minute.

::

    python -m bench.integrations_bench [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database on the server of ``DATABASE_URL`` (``bench_integrations_<pid>``),
migrates it, starts tools/provider-sandbox on a free loopback port and the integrations app
(its jobs run one tick at a time with ``run_job``, as a replica's loop would; no broker: the
outbox rows are written, not published), and drops the database at the end.

Measured, each beside its anchor from the same run:

- ``google full 5000``: a user's calendar of 5,000 events, connected through the real OAuth flow
  against the sandbox, synced by the ``syncs`` job (20 pages of 250: fetch, one upsert statement
  per page, one outbox event per imported event, the sync token kept). Anchor: the same 20 pages
  fetched with a bare httpx client and nothing else done (the provider's and the network's share);
- ``google incremental 50``: 50 events changed on Google, the next sync (``syncToken``) moves
  only those. Anchor: the same incremental listing fetched bare;
- ``refresh 1000``: 1,000 Zoom integrations whose tokens all expire within the minute, refreshed
  by two concurrent ``refresh`` job loops (two replicas: ``FOR UPDATE SKIP LOCKED`` splits the
  rows), until none is due; every one refreshed exactly once (checked). Anchor: 1,000 bare
  refresh-token POSTs to the sandbox's token endpoint, 50 at a time.

Targets: the 1,000 refreshes within 30 s; the full sync within 60 s; the incremental sync within
2 s. The report at the end prints each with its anchor's seconds and the ratio. Bounded: well
under two minutes. ``--quick``: 1,000 events, 200 refreshes (the same targets).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.harness import Report, quick, scratch_database_main

ROOT = Path(__file__).resolve().parents[1]
EVENTS = int(quick(5000, 1000))
CHANGES = 50
REFRESHES = int(quick(1000, 200))
TARGET_REFRESH_S = 30.0
TARGET_FULL_S = 60.0
TARGET_INCREMENTAL_S = 2.0


class Sandbox:
    """tools/provider-sandbox in its own process (as under `make run`), so its CPU is not the
    bench's."""

    def __init__(self) -> None:
        from vc_common.ports import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sandbox:
        import httpx

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "provider_sandbox", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the provider sandbox did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _event(i: int) -> dict[str, Any]:
    day = 1 + i % 28
    return {
        "id": f"bench{i:05d}",
        "summary": f"Event {i}",
        "description": "Weekly sync with the team" if i % 3 == 0 else None,
        "start": {"dateTime": f"2027-01-{day:02d}T{8 + i % 9:02d}:00:00Z"},
        "end": {"dateTime": f"2027-01-{day:02d}T{9 + i % 9:02d}:00:00Z"},
    }


async def _fetch_all(base: str, token: str, params: dict[str, Any]) -> int:
    """The anchor: the provider's pages fetched with a bare client, nothing else done."""
    import httpx

    n = 0
    async with httpx.AsyncClient(timeout=30) as http:
        q = dict(params)
        while True:
            r = await http.get(
                f"{base}/google/api/calendar/v3/calendars/primary/events",
                params=q,
                headers={"Authorization": f"Bearer {token}"},
            )
            body = r.json()
            n += len(body.get("items", []))
            if not body.get("nextPageToken"):
                return n
            q["pageToken"] = body["nextPageToken"]


async def run(database_url: str) -> int:
    rep = Report("integrations_bench")  # now: its load average at the start is the run's
    import httpx
    from vc_common.auth import StaticKeySource, TokenVerifier
    from vc_common.db import Database
    from vc_common.jobs import run_job
    from vc_common.migrations import migrate
    from vc_common.settings import to_async_url
    from vc_common.testing.keys import TestSigner
    from vc_common.testing.plugin import create_database, drop_database

    os.environ["DATABASE_URL"] = database_url
    name = f"bench_integrations_{os.getpid()}"
    url = await create_database(name)
    rows: list[tuple[str, int, float, float]] = []
    try:
        await migrate("integrations", url)
        with Sandbox() as sandbox:
            from provider_sandbox.app import integrations_env

            os.environ.update(
                {
                    **integrations_env(sandbox.url),
                    "INTEGRATIONS_DATABASE_URL": url,
                    "JOBS_ENABLED": "false",
                    "EVENTS_ENABLED": "false",
                    "ENVIRONMENT": "test",
                    "LOG_LEVEL": "WARNING",
                }
            )
            from integrations.app import create_app

            app = create_app()
            signer = TestSigner()
            app.state.db = Database(to_async_url(url), pool_size=20, max_overflow=10)
            app.state.verifier = TokenVerifier(
                StaticKeySource(signer.jwks), issuer=signer.issuer, audience=signer.audience
            )
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench"
                ) as client,
                httpx.AsyncClient(base_url=sandbox.url, timeout=30) as sb,
            ):
                user = uuid.uuid4()
                headers = {"Authorization": f"Bearer {signer.token(user, username='bench')}"}
                for start in range(0, EVENTS, 1000):
                    await sb.post(
                        "/_sandbox/google/calendars/primary/events",
                        json=[_event(i) for i in range(start, min(EVENTS, start + 1000))],
                    )
                # connect through the real flow (authorize page approved, code exchanged)
                r = await client.post(
                    "/api/v1/integrations/google_calendar/connect", json={}, headers=headers
                )
                authorize = r.json()["authorization_url"]
                form = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
                approved = await sb.post(
                    authorize.split("?")[0].removeprefix(sandbox.url),
                    data={**form, "decision": "approve"},
                )
                back = parse_qs(urlsplit(approved.headers["location"]).query)
                cb = await client.get(
                    "/api/v1/integrations/google_calendar/callback",
                    params={k: v[0] for k, v in back.items()},
                    headers=headers,
                )
                iid = cb.json()["id"]
                from sqlalchemy import text

                rt = app.state.runtime  # the cipher and clients, built by the app's lifespan
                async with app.state.db.sessionmaker() as s:
                    stored = (
                        await s.execute(
                            text("SELECT access_token FROM integrations WHERE id = :i"), {"i": iid}
                        )
                    ).scalar_one()
                secret = rt.cipher.decrypt(stored)
                assert secret is not None
                token = secret.reveal()

                async def sync() -> tuple[float, dict[str, Any]]:
                    r = await client.post(f"/api/v1/integrations/{iid}/sync", headers=headers)
                    assert r.status_code == 202, r.text
                    t0 = time.perf_counter()
                    await run_job(app, "syncs")
                    took = time.perf_counter() - t0
                    logs = await client.get(
                        f"/api/v1/integrations/{iid}/sync-logs", headers=headers
                    )
                    return took, logs.json()["items"][0]

                t0 = time.perf_counter()
                fetched = await _fetch_all(sandbox.url, token, {"maxResults": 250})
                anchor_full = time.perf_counter() - t0
                full_s, log = await sync()
                assert log["status"] == "completed", log
                assert log["records_synced"] == EVENTS == fetched, (log, fetched)
                rows.append((f"google full {EVENTS}", log["records_synced"], full_s, anchor_full))

                await sb.post(
                    "/_sandbox/google/calendars/primary/events",
                    json=[
                        {"id": f"bench{i:05d}", "summary": f"Moved {i}"}
                        for i in range(0, EVENTS, EVENTS // CHANGES)
                    ],
                )
                async with app.state.db.sessionmaker() as s:
                    cursor = (
                        await s.execute(
                            text("SELECT sync_cursor FROM integrations WHERE id = :i"), {"i": iid}
                        )
                    ).scalar_one()
                t0 = time.perf_counter()
                changed = await _fetch_all(sandbox.url, token, {"syncToken": cursor})
                anchor_inc = time.perf_counter() - t0
                inc_s, log = await sync()
                assert log["status"] == "completed", log
                assert log["records_synced"] == CHANGES == changed, (log, changed)
                rows.append(
                    (f"google incremental {CHANGES}", log["records_synced"], inc_s, anchor_inc)
                )

                refresh = await _refresh_1000(app, sandbox, sb, rt.cipher)
                rows.append(refresh)
            await app.state.db.dispose()
    finally:
        await drop_database(name)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nintegrations (PostgreSQL {database_url}; provider sandbox on loopback; "
        f"load average {load} on {os.cpu_count()} cores)\n"
    )
    print(f"{'run':<24}{'records':>9}{'s':>8}{'/s':>9}{'anchor s':>10}{'anchor /s':>11}")
    for label, n, s, a in rows:
        print(f"{label:<24}{n:>9}{s:>8.2f}{n / s:>9.0f}{a:>10.2f}{n / a:>11.0f}")
    anchors = (
        "the same pages fetched bare",
        "the same listing fetched bare",
        "bare refresh POSTs, 50 at a time",
    )
    thresholds = (TARGET_FULL_S, TARGET_INCREMENTAL_S, TARGET_REFRESH_S)
    for (label, _, took, anchor_s), a_name, threshold in zip(
        rows, anchors, thresholds, strict=True
    ):
        rep.target(label, took, "<=", threshold, "s", anchor=(a_name, anchor_s))
    return rep.finish()


async def _refresh_1000(
    app: Any, sandbox: Sandbox, sb: Any, cipher: Any
) -> tuple[str, int, float, float]:
    """1,000 Zoom integrations due in the same minute; two concurrent job loops refresh them."""
    import httpx
    from provider_sandbox.app import DEFAULT_SECRET
    from sqlalchemy import text
    from vc_common.context import system_clock
    from vc_common.jobs import run_job

    now = system_clock()
    refresh_tokens = (
        await sb.post("/_sandbox/grants", json={"provider": "zoom", "count": REFRESHES})
    ).json()
    values = [
        {
            "id": uuid.uuid4(),
            "user_id": uuid.uuid4(),
            "access": cipher.encrypt(f"zoom-at-old-{n}"),
            "refresh": cipher.encrypt(rt),
            "expires": now + timedelta(seconds=30 + n % 30),
            "due": now + timedelta(seconds=n % 30) - timedelta(minutes=5),
        }
        for n, rt in enumerate(refresh_tokens)
    ]
    async with app.state.db.unit_of_work() as s:
        await s.execute(
            text(
                "INSERT INTO integrations (id, user_id, integration_type, access_token, "
                "refresh_token, expires_at, is_active, status, account, config, "
                "refresh_due_at, refresh_failures, generation, resync_requested) VALUES "
                "(:id, :user_id, 'zoom', :access, :refresh, :expires, true, 'connected', "
                "'{}', '{}', :due, 0, 1, false)"
            ),
            values,
        )
    calls_before = (await sb.get("/_sandbox/token-calls")).json().get("zoom", 0)

    async def replica() -> int:
        total = 0
        while True:
            n = await run_job(app, "refresh")
            total += n
            if n == 0:
                return total

    t0 = time.perf_counter()
    done = await asyncio.gather(replica(), replica())
    took = time.perf_counter() - t0
    calls = (await sb.get("/_sandbox/token-calls")).json().get("zoom", 0) - calls_before
    async with app.state.db.sessionmaker() as s:
        fresh = (
            await s.execute(
                text(
                    "SELECT count(*) FROM integrations WHERE integration_type = 'zoom' "
                    "AND refresh_failures = 0 AND expires_at > :soon"
                ),
                {"soon": now + timedelta(minutes=50)},
            )
        ).scalar_one()
    assert sum(done) == REFRESHES == calls == fresh, (done, calls, fresh)
    print(f"(refresh: the two replicas took {done[0]} and {done[1]})")

    # anchor: the same number of bare refresh POSTs, 50 at a time, on fresh grants
    rts = (await sb.post("/_sandbox/grants", json={"provider": "zoom", "count": REFRESHES})).json()
    sem = asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as http:

        async def one(rt: str) -> None:
            async with sem:
                r = await http.post(
                    "/zoom/oauth/token",
                    data={"grant_type": "refresh_token", "refresh_token": rt},
                    auth=("vc-zoom", DEFAULT_SECRET),
                )
                r.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(rt) for rt in rts))
        anchor = time.perf_counter() - t0
    return (f"refresh {REFRESHES} (2 loops)", REFRESHES, took, anchor)


def main(argv: list[str] | None = None) -> int:
    return scratch_database_main("python -m bench.integrations_bench", __doc__, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
