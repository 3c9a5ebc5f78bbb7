"""Tasks: the whole-board answer and task moves, through the gateway.

Against a running platform (``make run``; found where it listens: ``GATEWAY_URL``, else
platform.toml's gateway port moved by ``PORT_BASE``/``GATEWAY_PORT``, as ``make run`` moves it)::

    python -m bench.tasks_bench [--gateway http://127.0.0.1:$GATEWAY_PORT]

It registers and logs in a bench user (``POST /api/v1/auth/register``, ``/api/v1/auth/login``),
creates a team (``POST /api/v1/teams``), a board and 500 tasks spread over its columns (with a
label and a subtask each, so the answer carries everything a client shows), then measures:

- ``GET /api/v1/boards/{id}``: p50 / p99 latency of one request at a time (target p50 < 50 ms);
- ``POST /api/v1/tasks/{id}/move``: moves per second with a few concurrent clients, and their
  p50 / p99.

Each is measured through the gateway, then straight at the tasks service (``--direct``: where
``make run`` puts it, platform.toml's port moved like the gateway's), the same board, the same
token: the anchor of the same run, and the ratio gateway / direct. The bare FastAPI + asyncpg
anchor of both (the same statements without the product) is :mod:`bench.task_read_bench`'s
board and move phases.

Every loop is bounded in count and time; the only target is the gateway given (loopback by
default). Give the gateway rate limits a benchmark does not trip
(``GATEWAY_RATE_PER_USER=off GATEWAY_RATE_PER_IP=off``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.harness import (
    Report,
    gateway_url,
    http_ok,
    pct_ms,
    quick,
    register_and_login,
    service_port,
)

TARGET_P50_MS = 50.0
TARGET_MOVES = 300.0  # moves/s on one board with 8 clients


@dataclass
class Row:
    name: str
    count: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def gather_bounded(n: int, limit: int, make: Any) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with sem:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(n)))


async def build(
    client: httpx.AsyncClient, h: dict[str, str], n_tasks: int, concurrency: int
) -> tuple[str, list[str], list[str]]:
    team = await http_ok(
        await client.post("/api/v1/teams", json={"name": "Tasks bench"}, headers=h), 201
    )
    board = await http_ok(
        await client.post(
            f"/api/v1/teams/{team['id']}/boards", json={"name": "Bench board"}, headers=h
        ),
        201,
    )
    full = await http_ok(await client.get(f"/api/v1/boards/{board['id']}", headers=h), 200)
    columns = [c["id"] for c in full["columns"]]
    labels = [
        (
            await http_ok(
                await client.post(
                    f"/api/v1/teams/{team['id']}/labels", json={"name": n, "color": c}, headers=h
                ),
                201,
            )
        )["id"]
        for n, c in (("bug", "#D73A4A"), ("feature", "#0E8A16"), ("chore", "#C5DEF5"))
    ]

    async def make(i: int) -> str:
        task = await http_ok(
            await client.post(
                f"/api/v1/columns/{columns[i % len(columns)]}/tasks",
                json={
                    "title": f"Task {i}",
                    "description": "Benchmark task " * 4,
                    "priority": ("low", "medium", "high", "urgent")[i % 4],
                    "label_ids": [labels[i % 3]],
                },
                headers=h,
            ),
            201,
        )
        await http_ok(
            await client.post(
                f"/api/v1/tasks/{task['id']}/subtasks", json={"title": "step"}, headers=h
            ),
            201,
        )
        return str(task["id"])

    task_ids = await gather_bounded(n_tasks, concurrency, make)
    return board["id"], columns, task_ids


async def measure_reads(
    client: httpx.AsyncClient, h: dict[str, str], board_id: str, n: int, budget_s: float
) -> Row:
    for _ in range(5):  # warm-up: connections, caches, the membership projection
        await http_ok(await client.get(f"/api/v1/boards/{board_id}", headers=h), 200)
    samples: list[float] = []
    errors = 0
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        r = await client.get(f"/api/v1/boards/{board_id}", headers=h)
        samples.append(time.perf_counter() - t0)
        errors += r.status_code != 200
        if time.perf_counter() - started > budget_s:
            break
    return Row(
        "GET /boards/{id} (500 tasks)",
        len(samples),
        time.perf_counter() - started,
        pct_ms(samples, 50),
        pct_ms(samples, 99),
        errors,
    )


async def measure_moves(
    client: httpx.AsyncClient,
    h: dict[str, str],
    columns: list[str],
    task_ids: list[str],
    n: int,
    concurrency: int,
    budget_s: float,
) -> Row:
    rng = random.Random(1)
    samples: list[float] = []
    errors = 0
    deadline = time.perf_counter() + budget_s
    started = time.perf_counter()

    async def move(i: int) -> None:
        nonlocal errors
        del i
        if time.perf_counter() > deadline:
            return
        t0 = time.perf_counter()
        r = await client.post(
            f"/api/v1/tasks/{rng.choice(task_ids)}/move",
            json={"column_id": rng.choice(columns), "position": rng.randint(0, 200)},
            headers=h,
        )
        samples.append(time.perf_counter() - t0)
        errors += r.status_code != 200

    await gather_bounded(n, concurrency, move)
    return Row(
        f"POST /tasks/{{id}}/move (x{concurrency})",
        len(samples),
        time.perf_counter() - started,
        pct_ms(samples, 50),
        pct_ms(samples, 99),
        errors,
    )


def table(rows: list[Row]) -> str:
    head = (
        f"{'benchmark':<34} {'requests':>8} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.name:<34} {r.count:>8} {r.per_second:>8.1f} {r.p50_ms:>8.1f} "
            f"{r.p99_ms:>8.1f} {r.errors:>6}"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with (
        httpx.AsyncClient(base_url=args.gateway, timeout=30.0, limits=limits) as client,
        httpx.AsyncClient(base_url=args.direct, timeout=30.0, limits=limits) as direct,
    ):
        h = await register_and_login(client)
        t0 = time.perf_counter()
        board_id, columns, task_ids = await build(client, h, args.tasks, args.concurrency)
        print(f"built a board with {len(task_ids)} tasks in {time.perf_counter() - t0:.1f}s")
        reads = await measure_reads(client, h, board_id, args.reads, args.budget)
        reads_direct = await measure_reads(direct, h, board_id, args.reads, args.budget)
        moves = await measure_moves(
            client, h, columns, task_ids, args.moves, args.concurrency, args.budget
        )
        moves_direct = await measure_moves(
            direct, h, columns, task_ids, args.moves, args.concurrency, args.budget
        )
    reads_direct.name += " direct"
    moves_direct.name += " direct"
    rows = [reads, reads_direct, moves, moves_direct]
    print(table(rows))
    report = Report("tasks_bench")
    report.target(
        "GET /boards/{id} (500 tasks) p50",
        reads.p50_ms,
        "<",
        TARGET_P50_MS,
        "ms",
        anchor=("direct to tasks", reads_direct.p50_ms),
    )
    report.target(
        f"moves on one board ({args.concurrency} clients)",
        moves.per_second,
        ">=",
        TARGET_MOVES,
        "moves/s",
        anchor=("direct to tasks", moves_direct.per_second),
        note=f"p50 {moves.p50_ms:.0f} ms, p99 {moves.p99_ms:.0f} ms",
    )
    errors = sum(r.errors for r in rows)
    if errors:
        report.note(f"errors: {', '.join(f'{r.name} {r.errors}' for r in rows if r.errors)}")
    code = report.finish()
    return code if errors == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tasks_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--gateway", default=gateway_url(), help="default: where `make run` puts it"
    )
    parser.add_argument(
        "--direct",
        default=f"http://127.0.0.1:{service_port('tasks') or 8104}",
        help="the tasks service itself (default: where `make run` puts it)",
    )
    parser.add_argument("--tasks", type=int, default=int(quick(500, 60)))
    parser.add_argument(
        "--reads", type=int, default=int(quick(200, 20)), help="GET board requests (max)"
    )
    parser.add_argument("--moves", type=int, default=int(quick(1000, 100)), help="moves (max)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--budget", type=float, default=quick(60.0, 15.0), help="seconds per phase (max)"
    )
    args = parser.parse_args()
    try:
        return asyncio.run(run(args))
    except (httpx.HTTPError, RuntimeError) as exc:
        print(f"tasks bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"(it measures a running platform: `make run`, gateway at {args.gateway})")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
