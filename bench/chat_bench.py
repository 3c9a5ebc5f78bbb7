"""Chat delivery through the gateway: N WebSocket subscribers in one room, messages posted over
HTTP by several members, latency from the POST being sent to each subscriber's receipt.

Needs the platform running (``make run``): ``python -m bench.chat_bench [--subscribers 200]``.
Target: p99 < 50 ms. Posting is rate-limited per user (20 messages / 10 s by default), so the
messages come from ``--posters`` members, ``--per-poster`` each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
import uuid
from typing import Any

import aiohttp
import orjson

PASSWORD = "bench-password-123"


async def _json(resp: aiohttp.ClientResponse, *ok: int) -> Any:
    body = await resp.read()
    if resp.status not in ok:
        raise RuntimeError(f"{resp.method} {resp.url} -> {resp.status}: {body[:300]!r}")
    return orjson.loads(body) if body else None


async def register(http: aiohttp.ClientSession, base: str, tag: str) -> tuple[str, str]:
    name = f"bench-{tag}-{uuid.uuid4().hex[:8]}"
    async with http.post(
        f"{base}/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
    ) as r:
        user = await _json(r, 201)
    async with http.post(
        f"{base}/api/v1/auth/login", json={"username": name, "password": PASSWORD}
    ) as r:
        token = (await _json(r, 200))["access_token"]
    return str(user["id"]), str(token)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def run(args: argparse.Namespace) -> int:
    base = args.gateway.rstrip("/")
    ws_base = base.replace("http://", "ws://").replace("https://", "wss://")
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=conn, timeout=aiohttp.ClientTimeout(total=60)
    ) as http:
        owner_id, owner = await register(http, base, "owner")
        auth = {"Authorization": f"Bearer {owner}"}
        async with http.post(
            f"{base}/api/v1/teams", json={"name": f"bench {uuid.uuid4().hex[:6]}"}, headers=auth
        ) as r:
            team_id = (await _json(r, 201))["id"]
        async with http.post(
            f"{base}/api/v1/teams/{team_id}/rooms", json={"name": "bench"}, headers=auth
        ) as r:
            room_id = (await _json(r, 201))["id"]
        posters = [await register(http, base, f"p{i}") for i in range(args.posters)]
        for uid, _ in posters:
            async with http.post(
                f"{base}/api/v1/teams/{team_id}/members",
                json={"user_id": uid, "role": "member"},
                headers=auth,
            ) as r:
                await _json(r, 201, 200)
        del owner_id

        total = args.posters * args.per_poster
        sent_at: dict[str, float] = {}
        received: list[dict[str, float]] = [{} for _ in range(args.subscribers)]
        done = asyncio.Event()
        remaining = [args.subscribers]

        async def subscriber(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            got = received[i]
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                now = time.perf_counter()
                frame = orjson.loads(msg.data)
                if frame.get("type") == "message":
                    got[frame["message"]["content"]] = now
                    if len(got) == total:
                        remaining[0] -= 1
                        if remaining[0] == 0:
                            done.set()
                        return

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
        readers = [asyncio.create_task(subscriber(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(0.5)

        post_ms: list[float] = []

        async def poster(n: int, token: str) -> None:
            h = {"Authorization": f"Bearer {token}"}
            for k in range(args.per_poster):
                content = f"bench {n}-{k}"
                t0 = time.perf_counter()
                sent_at[content] = t0
                async with http.post(
                    f"{base}/api/v1/rooms/{room_id}/messages", json={"content": content}, headers=h
                ) as r:
                    await _json(r, 201)
                post_ms.append((time.perf_counter() - t0) * 1000)
                if args.pause:
                    await asyncio.sleep(args.pause)

        t_start = time.perf_counter()
        await asyncio.gather(*(poster(n, t) for n, (_, t) in enumerate(posters)))
        t_posted = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=args.timeout)
        t_end = time.perf_counter()
        for t in readers:
            t.cancel()
        for ws in sockets:
            await ws.close()

    latencies = [(at - sent_at[c]) * 1000 for got in received for c, at in got.items()]
    deliveries = len(latencies)
    expected = total * args.subscribers
    rows = [
        ("subscribers (through the gateway)", f"{args.subscribers}"),
        ("connect all sockets", f"{connect_s * 1000:.0f} ms"),
        ("messages posted", f"{total} by {args.posters} members"),
        (
            "deliveries",
            f"{deliveries} / {expected}" + ("" if deliveries == expected else "  (MISSING)"),
        ),
        ("POST latency p50 / p99", f"{pct(post_ms, 50):.1f} / {pct(post_ms, 99):.1f} ms"),
        ("delivery latency p50", f"{pct(latencies, 50):.1f} ms"),
        ("delivery latency p90", f"{pct(latencies, 90):.1f} ms"),
        ("delivery latency p99", f"{pct(latencies, 99):.1f} ms   (target < 50 ms)"),
        ("delivery latency max", f"{max(latencies, default=float('nan')):.1f} ms"),
        ("mean", f"{statistics.fmean(latencies) if latencies else float('nan'):.1f} ms"),
        ("messages / s (posted)", f"{total / max(1e-9, t_posted - t_start):.0f}"),
        ("deliveries / s", f"{deliveries / max(1e-9, t_end - t_start):.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"chat_bench against {base}")
    print("-" * (width + 30))
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print("-" * (width + 30))
    ok = deliveries == expected
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_bench")
    parser.add_argument("--gateway", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--posters", type=int, default=10)
    parser.add_argument(
        "--per-poster",
        type=int,
        default=20,
        help="messages per poster (the rate limit allows 20 / 10 s)",
    )
    parser.add_argument(
        "--pause", type=float, default=0.02, help="seconds between two posts of one poster"
    )
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
