"""Chat delivery through the gateway: N WebSocket subscribers in one room, messages posted over
HTTP by several members, latency from the POST being sent to each subscriber's receipt.

Needs the platform running (``make run``): ``python -m bench.chat_bench [--subscribers 200]``.

Two runs on the same sockets, two tables:

* **fixed rate** (the latency target, p99 < 50 ms, belongs here): ``--rate`` messages/s (20)
  for ``--duration`` s (10), sent on schedule (open loop) round-robin by the posters;
* **saturation**: every poster posts ``--per-poster`` messages back to back (``--pause`` apart):
  the most the platform delivers, latencies are queueing there. The issue's targets belong
  here: ≥ 500 messages/s posted into the room of ``--subscribers`` (200), delivery p99 < 100
  ms. (10 posters 20 ms apart offer at most 500/s even if a POST took no time, and the chat's
  message limit caps each poster: measuring 500/s needs more ``--posters`` and the limit
  relaxed, below.)

Each table has the CPU time the gateway and chat processes spent per delivered frame (from
``/proc/<pid>/stat``, the processes listening on the gateway's and chat's ports, or
``--gateway-pid`` / ``--chat-pid``; chat's port is found like the gateway's, moved with it by
``PORT_BASE``; with two chat replicas only the first one's CPU is counted) and the load average
(the machine is shared: compare CPU per frame first).

**Anchor**, measured in the same run on the same machine: the bare ``websockets`` broadcast of
:mod:`bench.realtime_bench` (another process, no platform) to as many sockets, frames of the
size of the chat's message frame (the first one received), as many as each run posted: at the
fixed rate for the fixed run, back to back for the saturation run. The report at the end puts
each figure beside it (latency, messages/s, CPU per delivered frame) with its ratio and each
target with met/missed.

Users are reused between runs: the owner and the posters (``bench-owner``, ``bench-p<i>``) are
logged in, and registered only the first time; their tokens are kept in ``--state`` (a JSON file
in the temp directory) until shortly before they expire, so a run usually neither registers nor
logs in. Each run creates one team and room.

Limits: the chat service allows 20 messages / 10 s per user (``CHAT_MESSAGE_RATE``): 20 msg/s
over 10 posters is exactly that, so the bench waits ``--gap`` s (10; 0 with ``--quick``, whose
fewer, shorter runs stay within the limit) between the two runs; a
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
import math
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

from bench.harness import (
    Report,
    cpu_seconds,
    gateway_url,
    listener_pid,
    loadavg,
    pct,
    quick,
    service_port,
)
from bench.harness import read_json as _json
from bench.realtime_bench import Broadcast, bare_broadcast

PASSWORD = "bench-password-123"
TARGET_FIXED_P99_MS = 50.0
TARGET_RATE = 500.0  # messages/s posted into one room (the issue's)
TARGET_P99_MS = 100.0  # delivery p99 at that rate


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
    rep = Report("chat_bench")  # now: its load average at the start is the run's
    base = args.gateway.rstrip("/")
    ws_base = base.replace("http://", "ws://").replace("https://", "wss://")
    pids = {
        "gateway": args.gateway_pid or listener_pid(URL(base).port or 80),
        "chat": args.chat_pid or listener_pid(args.chat_port or service_port("chat", base)),
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
        frame_size = [0]  # of the first message frame: the anchor broadcasts frames this size

        async def subscriber(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            got = received[i]
            counts: dict[str, int] = {}
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                now = time.perf_counter()
                frame = orjson.loads(msg.data)
                if frame.get("type") == "message":
                    frame_size[0] = frame_size[0] or len(msg.data)
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
        # the anchor: the same number of frames of that size to as many sockets, bare
        anchors = [
            await bare_broadcast(
                http,
                sockets=args.subscribers,
                teams=1,
                rate=args.rate if phase.name == "fixed rate" else math.inf,
                frames=phase.total,
                frame_size=frame_size[0],
            )
            for phase in phases
        ]

    print(f"chat_bench against {base}: {args.subscribers} subscribers through the gateway")
    print(
        f"users: {users.registrations} registered, {users.logins} logins "
        f"(tokens kept in {args.state}); pids gateway {pids['gateway']}, chat {pids['chat']}"
    )
    print(
        f"connect all sockets: {connect_s * 1000:.0f} ms; CPU gateway "
        f"{connect_cpu['gateway'] * 1000:.0f} ms, chat {connect_cpu['chat'] * 1000:.0f} ms"
    )
    for phase, anchor in zip(phases, anchors, strict=True):
        tag = f"bench{phases.index(phase)} "
        latencies = [
            (at - phase.sent_at[c]) * 1000
            for got in received
            for c, at in got.items()
            if c.startswith(tag) and c in phase.sent_at
        ]
        deliveries = len(latencies)
        want = phase.total * args.subscribers
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
            (
                "delivery latency p99",
                f"{pct(latencies, 99):.1f} ms   (target < "
                f"{TARGET_FIXED_P99_MS if phase.name == 'fixed rate' else TARGET_P99_MS:.0f} ms)",
            ),
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
        print(
            f"anchor: bare websockets, {anchor.frames} frames of {frame_size[0]} bytes to "
            f"{args.subscribers} sockets: p50 {pct(anchor.latencies, 50):.1f} ms, p99 "
            f"{pct(anchor.latencies, 99):.1f} ms, {anchor.per_second:.0f} messages/s, "
            f"CPU/frame {anchor.cpu_us:.1f} us"
        )
        report_phase(rep, args, phase, anchor, latencies, want)
    for name in ("fixed rate", "saturation"):
        if name not in {p.name for p in phases}:
            rep.note(f"{name}: not run (0 messages asked)")
            report_phase(rep, args, Phase(name), None, [], 0)
    return rep.finish()


def report_phase(
    rep: Report,
    args: argparse.Namespace,
    phase: Phase,
    anchor: Broadcast | None,
    latencies: list[float],
    want: int,
) -> None:
    """One run's figures beside the bare broadcast's, and its targets (NaN when not run)."""
    nan = float("nan")
    a_name = "bare websockets " + ("same rate" if phase.name == "fixed rate" else "back to back")
    a_lat = anchor.latencies if anchor else []
    rep.figure(
        f"{phase.name}: delivery p50", pct(latencies, 50), "ms", anchor=(a_name, pct(a_lat, 50))
    )
    if phase.name == "fixed rate":
        rep.target(
            f"fixed rate {args.rate:g} msg/s: delivery p99",
            pct(latencies, 99),
            "<",
            TARGET_FIXED_P99_MS,
            "ms",
            anchor=(a_name, pct(a_lat, 99)),
            note=f"{args.subscribers} subscribers",
        )
    else:
        took = phase.t_posted - phase.t_start
        ceiling = args.posters / args.pause if args.pause else math.inf
        rep.target(
            f"saturation: msgs/s posted, {args.subscribers} subscribers",
            phase.total / took if took > 0 else nan,
            ">=",
            TARGET_RATE,
            "msgs/s",
            anchor=(a_name, anchor.per_second if anchor else nan),
            note=f"{args.posters} posters {args.pause * 1000:g} ms apart offer ≤ {ceiling:.0f}/s",
        )
        rep.target(
            "saturation: delivery p99",
            pct(latencies, 99),
            "<",
            TARGET_P99_MS,
            "ms",
            anchor=(a_name, pct(a_lat, 99)),
        )
    if anchor is not None:
        per = max(1, len(latencies))
        for proc in ("gateway", "chat"):
            rep.figure(
                f"{phase.name}: CPU/frame {proc}",
                phase.cpu[proc] / per * 1e6,
                "us",
                anchor=(a_name, anchor.cpu_us),
            )
        rep.target(f"{phase.name}: deliveries", len(latencies), ">=", want, "frames")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_bench")
    parser.add_argument(
        "--gateway", default=gateway_url(), help="default: where `make run` puts it"
    )
    parser.add_argument(
        "--chat-port",
        type=int,
        default=None,
        help="to find the chat process for its CPU time (default: where `make run` puts it)",
    )
    parser.add_argument("--gateway-pid", type=int, default=None)
    parser.add_argument("--chat-pid", type=int, default=None)
    parser.add_argument("--subscribers", type=int, default=int(quick(200, 50)))
    parser.add_argument("--posters", type=int, default=10)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="fixed run: messages / s (0: skip)"
    )
    parser.add_argument(
        "--duration", type=float, default=quick(10.0, 3.0), help="fixed run: seconds"
    )
    parser.add_argument(
        "--per-poster",
        type=int,
        default=int(quick(20, 5)),
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
        default=quick(10.0, 0.0),
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
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
