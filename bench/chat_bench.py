"""Chat delivery through the gateway: N WebSocket subscribers in one room, messages posted over
HTTP by several members, latency from the POST being sent to each subscriber's receipt.

Needs the platform running (``make run``): ``python -m bench.chat_bench [--subscribers 200]``.

Two runs on the same sockets, two tables:

* **fixed rate** (the latency target, p99 < 50 ms, belongs here): ``--rate`` messages/s (20)
  for ``--duration`` s (10), sent on schedule (open loop) round-robin by the posters;
* **saturation**: every poster posts ``--per-poster`` messages back to back (``--pause`` apart):
  the most the platform delivers, latencies are queueing there.

Each table has the CPU time the gateway and chat processes spent per delivered frame (from
``/proc/<pid>/stat``, the processes listening on the gateway's and chat's ports, or
``--gateway-pid`` / ``--chat-pid``) and the load average (the machine is shared: compare CPU per
frame first).

Users are reused between runs: the owner and the posters (``bench-owner``, ``bench-p<i>``) are
logged in, and registered only the first time; their tokens are kept in ``--state`` (a JSON file
in the temp directory) until shortly before they expire, so a run usually neither registers nor
logs in. Each run creates one team and room.

Limits: the chat service allows 20 messages / 10 s per user (``CHAT_MESSAGE_RATE``): 20 msg/s
over 10 posters is exactly that, so the bench waits ``--gap`` s (10) between the two runs; a
429 is retried after its ``Retry-After`` (counted in the table, the message's latency counts
from the retry). For repeated runs, start the platform with the limits relaxed::

    REGISTER_RATE_PER_IP=10000/hour LOGIN_RATE_PER_IP=10000/minute \\
    LOGIN_RATE_PER_ACCOUNT=10000/minute GATEWAY_RATE_PER_USER=off GATEWAY_RATE_PER_IP=off \\
    CHAT_MESSAGE_RATE=100000/10s make run      # then: --gap 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from yarl import URL

from bench.harness import gateway_url

PASSWORD = "bench-password-123"
TICKS = os.sysconf("SC_CLK_TCK")


async def _json(resp: aiohttp.ClientResponse, *ok: int) -> Any:
    body = await resp.read()
    if resp.status not in ok:
        raise RuntimeError(f"{resp.method} {resp.url} -> {resp.status}: {body[:300]!r}")
    return orjson.loads(body) if body else None


# --- users, reused between runs -----------------------------------------------------------------


class Users:
    """``{base: {username: {"id", "token", "exp"}}}`` in a JSON file."""

    def __init__(self, path: Path, base: str) -> None:
        self.path = path
        self.base = base
        try:
            self.data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}
        self.logins = 0
        self.registrations = 0

    def save(self) -> None:
        with contextlib.suppress(OSError):
            self.path.write_text(json.dumps(self.data))

    async def get(self, http: aiohttp.ClientSession, name: str) -> tuple[str, str]:
        known = self.data.setdefault(self.base, {})
        entry = known.get(name)
        base = self.base
        if entry and entry.get("exp", 0) > time.time() + 120:
            # still valid for this platform? (a fresh `make run` has new users and keys)
            async with http.get(
                f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {entry['token']}"}
            ) as r:
                await r.read()
                if r.status == 200:
                    return entry["id"], entry["token"]
        login = {"username": name, "password": PASSWORD}
        async with http.post(f"{base}/api/v1/auth/login", json=login) as r:
            if r.status in (400, 401, 404):
                await r.read()
                tokens = None
            else:
                tokens = await _json(r, 200)
        self.logins += 1
        if tokens is None:
            async with http.post(
                f"{base}/api/v1/auth/register",
                json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
            ) as r:
                await _json(r, 201)
            self.registrations += 1
            async with http.post(f"{base}/api/v1/auth/login", json=login) as r:
                tokens = await _json(r, 200)
            self.logins += 1
        token = str(tokens["access_token"])
        async with http.get(
            f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            uid = str((await _json(r, 200))["id"])
        known[name] = {"id": uid, "token": token, "exp": time.time() + int(tokens["expires_in"])}
        self.save()
        return uid, token


# --- measuring ----------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def listener_pid(port: int) -> int | None:
    """The process listening on 127.0.0.1/0.0.0.0:``port`` (this user's processes only)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                        return int(pid)
    return None


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


@dataclass
class Phase:
    name: str
    total: int = 0
    sent_at: dict[str, float] = field(default_factory=dict)
    post_ms: list[float] = field(default_factory=list)
    retries: int = 0
    t_start: float = 0.0
    t_posted: float = 0.0
    t_end: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""


# --- the run ------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    base = args.gateway.rstrip("/")
    ws_base = base.replace("http://", "ws://").replace("https://", "wss://")
    pids = {
        "gateway": args.gateway_pid or listener_pid(URL(base).port or 80),
        "chat": args.chat_pid or listener_pid(args.chat_port),
    }
    users = Users(Path(args.state), base)
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=conn, timeout=aiohttp.ClientTimeout(total=60)
    ) as http:
        _, owner = await users.get(http, "bench-owner")
        auth = {"Authorization": f"Bearer {owner}"}
        async with http.post(
            f"{base}/api/v1/teams", json={"name": f"bench {uuid.uuid4().hex[:6]}"}, headers=auth
        ) as r:
            team_id = (await _json(r, 201))["id"]
        async with http.post(
            f"{base}/api/v1/teams/{team_id}/rooms", json={"name": "bench"}, headers=auth
        ) as r:
            room_id = (await _json(r, 201))["id"]
        posters = [await users.get(http, f"bench-p{i}") for i in range(args.posters)]
        for uid, _ in posters:
            async with http.post(
                f"{base}/api/v1/teams/{team_id}/members",
                json={"user_id": uid, "role": "member"},
                headers=auth,
            ) as r:
                await _json(r, 201, 200)

        phases: list[Phase] = []
        if args.rate > 0 and args.duration > 0:
            phases.append(Phase("fixed rate", total=round(args.rate * args.duration)))
        if args.per_poster > 0:
            phases.append(Phase("saturation", total=args.posters * args.per_poster))
        # content -> receipt time on each socket (one dict per socket, all phases)
        received: list[dict[str, float]] = [{} for _ in range(args.subscribers)]
        expected: dict[str, int] = {}  # content prefix -> count, for the current phase
        current: list[Any] = [None, 0, asyncio.Event()]  # (prefix, sockets done, event)

        async def subscriber(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            got = received[i]
            counts: dict[str, int] = {}
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                now = time.perf_counter()
                frame = orjson.loads(msg.data)
                if frame.get("type") == "message":
                    content = frame["message"]["content"]
                    got[content] = now
                    prefix = current[0]
                    if prefix is not None and content.startswith(prefix):
                        counts[prefix] = n = counts.get(prefix, 0) + 1
                        if n == expected[prefix]:
                            current[1] += 1
                            if current[1] == args.subscribers:
                                current[2].set()

        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        started = time.perf_counter()
        tokens = [owner] + [t for _, t in posters]
        sockets = []
        for i in range(args.subscribers):
            token = tokens[i % len(tokens)]
            sockets.append(
                await http.ws_connect(
                    f"{ws_base}/api/v1/rooms/{room_id}/ws?token={token}",
                    heartbeat=20,
                    max_msg_size=4 * 1024 * 1024,
                )
            )
        connect_s = time.perf_counter() - started
        connect_cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
        readers = [asyncio.create_task(subscriber(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(0.5)

        async def post(phase: Phase, content: str, token: str) -> None:
            h = {"Authorization": f"Bearer {token}"}
            url = f"{base}/api/v1/rooms/{room_id}/messages"
            while True:
                t0 = time.perf_counter()
                phase.sent_at[content] = t0
                async with http.post(url, json={"content": content}, headers=h) as r:
                    if r.status == 429:
                        await r.read()
                        phase.retries += 1
                        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                        continue
                    await _json(r, 201)
                phase.post_ms.append((time.perf_counter() - t0) * 1000)
                return

        async def fixed_rate(phase: Phase, tag: str) -> None:
            interval = 1.0 / args.rate
            tasks = []
            t0 = time.perf_counter()
            for k in range(phase.total):
                delay = t0 + k * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                _, token = posters[k % len(posters)]
                tasks.append(asyncio.create_task(post(phase, f"{tag}{k}", token)))
            await asyncio.gather(*tasks)

        async def saturation(phase: Phase, tag: str) -> None:
            async def poster(n: int, token: str) -> None:
                for k in range(args.per_poster):
                    await post(phase, f"{tag}{n}-{k}", token)
                    if args.pause:
                        await asyncio.sleep(args.pause)

            await asyncio.gather(*(poster(n, t) for n, (_, t) in enumerate(posters)))

        # the posters' message limit: a run just before this one may have used it up
        last_post = users.data.get("_last_post", {}).get(base, 0.0)
        wait = last_post + args.gap - time.time()
        if args.gap and 0 < wait <= args.gap:
            print(f"waiting {wait:.1f} s: the previous run's posts still count against the limit")
            await asyncio.sleep(wait)
        for n, phase in enumerate(phases):
            if n and args.gap:
                await asyncio.sleep(args.gap)  # let the per-user message limit refill
            tag = f"bench{n} "
            expected[tag] = phase.total
            current[:] = [tag, 0, asyncio.Event()]
            phase.load_before = loadavg()
            c0 = {k: cpu_seconds(p) for k, p in pids.items()}
            phase.t_start = time.perf_counter()
            if phase.name == "fixed rate":
                await fixed_rate(phase, tag)
            else:
                await saturation(phase, tag)
            phase.t_posted = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(current[2].wait(), timeout=args.timeout)
            phase.t_end = time.perf_counter()
            phase.cpu = {k: cpu_seconds(p) - c0[k] for k, p in pids.items()}
            phase.load_after = loadavg()
            users.data.setdefault("_last_post", {})[base] = time.time()
            users.save()
        for t in readers:
            t.cancel()
        for ws in sockets:
            await ws.close()

    print(f"chat_bench against {base}: {args.subscribers} subscribers through the gateway")
    print(
        f"users: {users.registrations} registered, {users.logins} logins "
        f"(tokens kept in {args.state}); pids gateway {pids['gateway']}, chat {pids['chat']}"
    )
    print(
        f"connect all sockets: {connect_s * 1000:.0f} ms; CPU gateway "
        f"{connect_cpu['gateway'] * 1000:.0f} ms, chat {connect_cpu['chat'] * 1000:.0f} ms"
    )
    ok = True
    for phase in phases:
        tag = f"bench{phases.index(phase)} "
        latencies = [
            (at - phase.sent_at[c]) * 1000
            for got in received
            for c, at in got.items()
            if c.startswith(tag) and c in phase.sent_at
        ]
        deliveries = len(latencies)
        want = phase.total * args.subscribers
        ok = ok and deliveries == want
        per = max(1, deliveries)
        how = (
            f"{args.rate:g} msg/s for {args.duration:g} s, round-robin by {args.posters} members"
            if phase.name == "fixed rate"
            else f"{args.per_poster} each by {args.posters} members, {args.pause * 1000:g} ms apart"
        )
        rows = [
            ("messages posted", f"{phase.total} ({how})"),
            (
                "deliveries",
                f"{deliveries} / {want}" + ("" if deliveries == want else "  (MISSING)"),
            ),
            ("429 retries", f"{phase.retries}"),
            (
                "POST latency p50 / p99",
                f"{pct(phase.post_ms, 50):.1f} / {pct(phase.post_ms, 99):.1f} ms",
            ),
            ("delivery latency p50", f"{pct(latencies, 50):.1f} ms"),
            ("delivery latency p90", f"{pct(latencies, 90):.1f} ms"),
            ("delivery latency p99", f"{pct(latencies, 99):.1f} ms   (target < 50 ms)"),
            ("delivery latency max", f"{max(latencies, default=float('nan')):.1f} ms"),
            ("mean", f"{statistics.fmean(latencies) if latencies else float('nan'):.1f} ms"),
            (
                "messages / s (posted)",
                f"{phase.total / max(1e-9, phase.t_posted - phase.t_start):.1f}",
            ),
            ("deliveries / s", f"{deliveries / max(1e-9, phase.t_end - phase.t_start):.0f}"),
            (
                "CPU / delivered frame",
                f"gateway {phase.cpu['gateway'] / per * 1e6:.1f} us, "
                f"chat {phase.cpu['chat'] / per * 1e6:.1f} us",
            ),
            ("load average (1/5/15 min)", f"{phase.load_before} -> {phase.load_after}"),
        ]
        width = max(len(k) for k, _ in rows)
        print()
        print(f"== {phase.name} ==")
        print("-" * (width + 50))
        for k, v in rows:
            print(f"{k:<{width}}  {v}")
        print("-" * (width + 50))
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_bench")
    parser.add_argument(
        "--gateway", default=gateway_url(), help="default: where `make run` puts it"
    )
    parser.add_argument(
        "--chat-port",
        type=int,
        default=int(os.environ.get("CHAT_PORT", "8103")),
        help="to find the chat process for its CPU time",
    )
    parser.add_argument("--gateway-pid", type=int, default=None)
    parser.add_argument("--chat-pid", type=int, default=None)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--posters", type=int, default=10)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="fixed run: messages / s (0: skip)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="fixed run: seconds")
    parser.add_argument(
        "--per-poster",
        type=int,
        default=20,
        help="saturation run: messages per poster (the rate limit allows 20 / 10 s; 0: skip)",
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=0.02,
        help="saturation: seconds between two posts of one poster",
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=10.0,
        help="seconds between the runs (the per-user message limit's window)",
    )
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument(
        "--state",
        default=os.environ.get(
            "CHAT_BENCH_STATE", os.path.join(tempfile.gettempdir(), "vc_chat_bench_users.json")
        ),
        help="where the bench users' tokens are kept between runs",
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
