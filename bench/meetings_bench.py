"""Meetings: 200 participants joining one meeting within one second, through the gateway.

Against a running platform (``make run``)::

    python -m bench.meetings_bench --gateway http://127.0.0.1:$GATEWAY_PORT [--participants 200]

A host creates a team, adds the participants to it and schedules a meeting that starts now; each
participant opens the meeting first (``GET /api/v1/meetings/{id}``: its connection is up and its
membership known, as a client that shows the meeting before its join button). Then the burst:
participant ``i`` sends ``POST /api/v1/meetings/{id}/join`` at ``t0 + i * window / n`` (open
loop: on schedule, whether or not earlier joins have answered), so ``n`` joins arrive spread over
``--window`` seconds (1). The first one starts the meeting (the row taken ``FOR UPDATE``), the
others share the row (``FOR SHARE``) and run side by side. Targets: every join answers 200 (and
every participant is joined afterwards), and p99 < 100 ms.

Besides latency it prints the CPU time the gateway and meetings processes spent per join (from
``/proc/<pid>/stat``, the processes listening on the gateway's port and ``--meetings-port``,
default where ``make run`` puts meetings beside that gateway), the figure to compare on a shared
machine.

**Anchor**, measured in the same run on the same machine: the same open-loop burst against a
bare FastAPI app under uvicorn (one process, a POST that returns a small JSON, no database, no
gateway), so the figure reads the same on a calm and on a busy machine. The report at the end
puts p50, p99 and CPU per join beside the anchor's, with their ratios. ``--quick``: 40
participants.

Users (``bench-meet-host``, ``bench-meet-<i>``) are registered the first time only and their
tokens kept in ``--state`` (a JSON file in the temp directory) until shortly before they expire.
Identity's default limits (20 registrations an hour and 30 logins a minute per address) would
stop a first run: start the platform with them relaxed, and the gateway's off; cheap password
hashes make the first run's 200 registrations quick (the figure is about joins, not logins)::

    REGISTER_RATE_PER_IP=10000/hour LOGIN_RATE_PER_IP=10000/minute \\
    LOGIN_RATE_PER_ACCOUNT=10000/minute GATEWAY_RATE_PER_USER=off GATEWAY_RATE_PER_IP=off \\
    ARGON2_TIME_COST=1 ARGON2_MEMORY_COST=8192 ARGON2_PARALLELISM=1 make run

Every loop is bounded in count and time; the only targets are the gateway given and the
anchor on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from bench.harness import (
    Report,
    cpu_seconds,
    gateway_url,
    listener_pid,
    pct_ms,
    quick,
    service_port,
)
from bench.harness import read_json as _json

PASSWORD = "bench-password-123"
TARGET_P99_MS = 100.0

ANCHOR_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.post("/join")
async def join() -> dict[str, object]:
    return {"meeting_link": "https://meet.example/vc-0", "access_token": None,
            "participant": {"status": "joined", "attended_minutes": 0}}
"""


# --- users, reused between runs -------------------------------------------------------------


class Users:
    """``{base: {username: {"id", "token", "exp"}}}`` in a JSON file."""

    def __init__(self, path: Path, base: str) -> None:
        self.path = path
        self.base = base
        try:
            self.data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}
        self.registered = 0
        self.logins = 0

    def save(self) -> None:
        with contextlib.suppress(OSError):
            self.path.write_text(json.dumps(self.data))

    async def get(self, http: aiohttp.ClientSession, name: str) -> dict[str, Any]:
        known = self.data.setdefault(self.base, {}).get(name)
        if known and known["exp"] > time.time() + 120:
            return dict(known)
        uid = known["id"] if known else None
        if known is None:
            # register first: signing in as an unknown name is a failed sign-in, and identity
            # makes an address wait after 20 of them (a first run has 200 participants)
            resp = await http.post(
                "/api/v1/auth/register",
                json={"username": name, "email": f"{name}@bench.example", "password": PASSWORD},
            )
            if resp.status == 201:
                uid = (await _json(resp, 201))["id"]
                self.registered += 1
            else:
                await _json(resp, 409)  # taken: a user of a run whose tokens were not kept
        resp = await http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        tokens = await _json(resp, 200)
        self.logins += 1
        if uid is None:
            me = await _json(
                await http.get(
                    "/api/v1/users/me",
                    headers={"Authorization": f"Bearer {tokens['access_token']}"},
                ),
                200,
            )
            uid = me["id"]
        entry = {
            "id": uid,
            "token": tokens["access_token"],
            "exp": time.time() + int(tokens.get("expires_in", 900)),
        }
        self.data[self.base][name] = entry
        self.save()  # a run cut short keeps the users it made
        return dict(entry)


async def bounded(n: int, limit: int, make: Any) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with sem:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(n)))


# --- the burst ----------------------------------------------------------------------------


@dataclass
class Burst:
    name: str
    latencies: list[float]
    statuses: dict[int, int]
    spread_s: float

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)


async def burst(
    http: aiohttp.ClientSession,
    n: int,
    window: float,
    request: Any,
    name: str,
) -> Burst:
    """``n`` requests sent on an open-loop schedule over ``window`` seconds."""
    latencies: list[float] = [0.0] * n
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    sent: list[float] = []

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, t0 + i * window / n - loop.time()))
        start = time.perf_counter()
        sent.append(loop.time())
        try:
            async with request(http, i) as resp:
                await resp.read()
                code = resp.status
        except aiohttp.ClientError:
            code = -1
        latencies[i] = time.perf_counter() - start
        statuses[code] = statuses.get(code, 0) + 1

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), timeout=60)
    return Burst(name, latencies, statuses, max(sent) - min(sent) if sent else 0.0)


def row(b: Burst) -> str:
    return (
        f"{b.name:<40} {len(b.latencies):>6} {b.ok:>6} {b.spread_s:>7.2f} "
        f"{pct_ms(b.latencies, 50):>8.1f} {pct_ms(b.latencies, 99):>8.1f} "
        f"{max(b.latencies) * 1000:>8.1f}"
    )


# --- the anchor: a bare FastAPI app -----------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def anchor_app() -> Any:
    folder = Path(tempfile.mkdtemp(prefix="meetings-bench-"))
    (folder / "bench_anchor_app.py").write_text(ANCHOR_APP)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_anchor_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder)},
    )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as s:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the anchor app exited")
            with contextlib.suppress(aiohttp.ClientError):
                async with s.post(f"{url}/join") as r:
                    if r.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError("the anchor app did not start")
            await asyncio.sleep(0.1)


async def measure_anchor(n: int, window: float) -> tuple[Burst, float]:
    with anchor_app() as (url, proc):
        await _wait_up(url, proc)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(base_url=url, connector=connector) as http:
            # the same warm connections as the participants' (one per client)
            async def warm() -> None:
                await _json(await http.post("/join"), 200)

            await asyncio.gather(*(warm() for _ in range(n)))
            c0 = cpu_seconds(proc.pid)
            b = await burst(
                http, n, window, lambda h, _i: h.post("/join"), "anchor: bare FastAPI POST"
            )
            return b, (cpu_seconds(proc.pid) - c0) / n * 1000


# --- the platform ---------------------------------------------------------------------------


async def setup(
    http: aiohttp.ClientSession, users: Users, n: int
) -> tuple[str, list[dict[str, Any]], dict[str, str]]:
    host = await users.get(http, "bench-meet-host")
    hh = {"Authorization": f"Bearer {host['token']}"}
    people = await bounded(n, 4, lambda i: users.get(http, f"bench-meet-{i}"))
    team = await _json(
        await http.post("/api/v1/teams", json={"name": "Meetings bench"}, headers=hh), 201
    )

    async def add(i: int) -> None:
        await _json(
            await http.post(
                f"/api/v1/teams/{team['id']}/members",
                json={"user_id": people[i]["id"], "role": "member"},
                headers=hh,
            ),
            201,
        )

    await bounded(n, 16, add)
    now = datetime.now(UTC)
    meeting = await _json(
        await http.post(
            f"/api/v1/teams/{team['id']}/meetings",
            json={
                "title": "All hands",
                "start_time": now.isoformat(),
                "end_time": (now + timedelta(hours=1)).isoformat(),
                "participant_ids": [p["id"] for p in people],
            },
            headers=hh,
        ),
        201,
    )
    return meeting["id"], people, hh


async def run(args: argparse.Namespace) -> int:
    rep = Report("meetings_bench")  # now: its load average at the start is the run's
    users = Users(Path(args.state), args.gateway)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        base_url=args.gateway, connector=connector, timeout=timeout
    ) as http:
        t_setup = time.perf_counter()
        meeting_id, people, hh = await setup(http, users, args.participants)
        print(
            f"set up {len(people)} participants in {time.perf_counter() - t_setup:.1f}s "
            f"({users.registered} registered, {users.logins} logins)"
        )
        url = f"/api/v1/meetings/{meeting_id}"
        heads = [{"Authorization": f"Bearer {p['token']}"} for p in people]
        pids = {
            "gateway": args.gateway_pid or listener_pid(URL(args.gateway).port or 80),
            "meetings": args.meetings_pid
            or listener_pid(args.meetings_port or service_port("meetings", args.gateway)),
        }

        # every participant opens the meeting (their connection up, their membership known)
        async def open_meeting(h: dict[str, str]) -> None:
            await _json(await http.get(url, headers=h), 200)

        await asyncio.gather(*(open_meeting(h) for h in heads))
        await asyncio.sleep(args.settle)  # the set-up's events (members added...) consumed
        cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
        joins = await burst(
            http,
            len(people),
            args.window,
            lambda h, i: h.post(f"{url}/join", headers=heads[i]),
            f"POST /meetings/{{id}}/join x{len(people)}",
        )
        cpu = {k: (cpu_seconds(v) - cpu0[k]) / len(people) * 1000 for k, v in pids.items()}
        joined, cursor = 0, None
        while True:
            page = await _json(
                await http.get(
                    f"{url}/participants",
                    params={"limit": 200, **({"cursor": cursor} if cursor else {})},
                    headers=hh,
                ),
                200,
            )
            joined += sum(p["status"] == "joined" for p in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        meeting = await _json(await http.get(url, headers=hh), 200)
        # leave the meeting as found: over (its events count in analytics like any other)
        await _json(await http.post(f"{url}/end", headers=hh), 200)
    anchor, anchor_cpu = await measure_anchor(len(people), args.window)

    head = (
        f"{'over ' + str(args.window) + ' s, open loop':<40} {'sent':>6} {'200':>6} "
        f"{'spread':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    print(head)
    print("-" * len(head))
    print(row(joins))
    print(row(anchor))
    print(
        "CPU per request: "
        + ", ".join(f"{k} {v:.2f} ms" for k, v in cpu.items())
        + f"; anchor {anchor_cpu:.2f} ms"
    )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    p99 = pct_ms(joins.latencies, 99)
    print(
        f"meeting {meeting['status']}, {joined}/{len(people)} participants joined; "
        f"answers {dict(sorted(joins.statuses.items()))}"
    )
    a_name = "bare FastAPI POST"
    n = len(people)
    rep.target(f"joins answered 200 of {n}", joins.ok, ">=", n, "joins")
    rep.target(f"participants joined of {n}", joined, ">=", n, "joined")
    rep.figure(
        f"join burst of {n} p50",
        pct_ms(joins.latencies, 50),
        "ms",
        anchor=(a_name, pct_ms(anchor.latencies, 50)),
    )
    rep.target(
        f"join burst of {n} p99",
        p99,
        "<",
        TARGET_P99_MS,
        "ms",
        anchor=(a_name, pct_ms(anchor.latencies, 99)),
        note=f"over {args.window:g} s, open loop",
    )
    for proc, ms in cpu.items():
        rep.figure(f"CPU per join, {proc}", ms, "ms", anchor=(a_name, anchor_cpu))
    return rep.finish()


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.meetings_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--gateway", default=gateway_url(), help="default: where `make run` puts it"
    )
    parser.add_argument("--participants", type=int, default=int(quick(200, 40)))
    parser.add_argument("--window", type=float, default=1.0, help="seconds the joins spread over")
    parser.add_argument(
        "--settle",
        type=float,
        default=quick(5.0, 2.0),
        help="seconds left to the set-up's events first",
    )
    parser.add_argument(
        "--meetings-port", type=int, default=None, help="default: where `make run` puts it"
    )
    parser.add_argument("--meetings-pid", type=int, default=None)
    parser.add_argument("--gateway-pid", type=int, default=None)
    parser.add_argument(
        "--state",
        default=str(
            Path(tempfile.gettempdir())
            / f"vc-meetings-bench-{uuid.uuid5(uuid.NAMESPACE_URL, 'vc')}.json"
        ),
        help="where users' tokens are kept between runs",
    )
    args = parser.parse_args()
    try:
        return asyncio.run(run(args))
    except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
        print(f"meetings bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
