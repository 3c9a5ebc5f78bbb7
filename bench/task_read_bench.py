"""An authenticated read of one task, ``GET /api/v1/tasks/{id}``: the tasks service against a bare
FastAPI + asyncpg app running the same statements on the same database (the issue's second
one-row read, beside identity's ``GET /users/me`` in :mod:`bench.gateway_bench`).

Self-contained (``make bench``, no running platform needed)::

    python -m bench.task_read_bench

starts the real identity (for tokens) and the real tasks service (uvicorn, the same settings as
the bare app's) on scratch databases (``identity_tr_*``, ``tasks_tr_*`` on the server of
``BENCH_DATABASE_URL``, else ``DATABASE_URL``, else postgresql://postgres@127.0.0.1:5432/postgres;
migrated, dropped at the end), events off (a read publishes nothing). The bench user's team
membership is written into tasks' membership projection, as its consumer would have written it
from teams' event, and a board, a label, a task with that label and a subtask are created
through tasks' API. Then, ``--rounds`` times, back to back: the bare app, then tasks, the same
token, the same task, ``--connections`` kept-alive connections (wrk when installed, else the
multi-process aiohttp load of :mod:`bench.gateway_bench`).

The anchor (:mod:`bench.bare_app`, ``GET /api/v1/tasks/{id}``) verifies the token on every
request and runs, on one pooled connection, what tasks runs for the answer: the task with its
position and subtask counts, its labels, the team's standing and the caller's role (one
statement), its subtasks and its attachments; it answers JSON (orjson). Tasks adds its session
layer, the ORM, pydantic models, the dependency tree and the middleware stack.

Target (the issue's): tasks' throughput >= 0.7 of the bare app's (median of the rounds' ratios).

Then the board answer, ``GET /api/v1/boards/{id}``: the same board filled to ``--board-tasks``
tasks (500; 100 with ``--quick``) through tasks' API, then, ``--rounds`` times, the bare app's
``/api/v1/boards/{id}`` (the board, the standing, its columns, the cards with their positions
and subtask counts, the board's labels: tasks' five statements) and tasks', ``--board-connections``
(4) connections each. Printed: each one's p50 and throughput and tasks' throughput over the bare
app's (no target: the board's target, p50 < 50 ms through the gateway, is ``tasks_bench``'s).

Then moves on that board, ``POST /api/v1/tasks/{id}/move``: ``--rounds`` times, the bare app's
move (:mod:`bench.bare_app`: the statements tasks runs for a move, in one transaction: the task's
team, board and column, the standing, a savepoint, the locks of the column it leaves and of the
one it enters, the neighbours, the task's lock, its row, its history, its events in the outbox,
its answer) and tasks', ``--move-clients`` (8) connections
each, every request a random task of the board to a random column at a random index 0-200
(wrk with a Lua script, the same seed for both; else a Python loop). Target (the issue's):
tasks >= 300 moves/s with 8 clients; printed beside the bare app's rate and CPU per move.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx

from bench.gateway_bench import (
    Result,
    _admin_sql,
    _free_port,
    _stop,
    _uvicorn,
    _wait_all,
    bench_database_url,
    database_url,
    load_options,
    measure,
    migrate,
    postgres_reachable,
    run_wrk,
)
from bench.harness import (
    Report,
    cpu_seconds,
    http_ok,
    loadavg,
    pct_ms,
    quick,
    register_and_login,
)

TARGET_RATIO = 0.7  # the service's authenticated one-row read vs the bare app
TARGET_MOVES = 300.0  # moves/s on one board with 8 clients


@contextlib.contextmanager
def services(base_url: str) -> Iterator[dict[str, Any]]:
    """Identity and tasks on scratch databases, and the bare app on tasks' database."""
    suffix = uuid.uuid4().hex[:8]
    dbs = {"identity": f"identity_tr_{suffix}", "tasks": f"tasks_tr_{suffix}"}
    urls = {name: database_url(base_url, db) for name, db in dbs.items()}
    ports = {"identity": _free_port(), "tasks": _free_port(), "bare": _free_port()}
    for db in dbs.values():
        _admin_sql(base_url, f'CREATE DATABASE "{db}"')
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        jwks = f"http://127.0.0.1:{ports['identity']}/.well-known/jwks.json"
        with tempfile.TemporaryDirectory(prefix="trbench-") as tmp:
            env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "GATEWAY_WORKERS"}}
            env.update(
                {
                    "IDENTITY_DATABASE_URL": urls["identity"],
                    "TASKS_DATABASE_URL": urls["tasks"],
                    "JWKS_URL": jwks,
                    "EVENTS_ENABLED": "false",
                    "MAIL_SENDER_ENABLED": "false",
                    "LOG_LEVEL": "WARNING",
                    "VC_RUN_DIR": tmp,
                }
            )
            for service in dbs:
                migrate(service, env)
            procs["identity"] = _uvicorn("identity.app:create_app", ports["identity"], env)
            procs["tasks"] = _uvicorn("tasks.app:create_app", ports["tasks"], env)
            _wait_all(
                procs,
                {s: f"http://127.0.0.1:{ports[s]}/readyz" for s in ("identity", "tasks")},
            )
            bare_env = {**env, "BARE_DATABASE_URL": urls["tasks"], "BARE_JWKS_URL": jwks}
            procs["bare"] = _uvicorn("bench.bare_app:create_app", ports["bare"], bare_env)
            _wait_all(procs, {"bare": f"http://127.0.0.1:{ports['bare']}/readyz"})
            yield {
                "urls": {s: f"http://127.0.0.1:{p}" for s, p in ports.items()},
                "tasks_db": urls["tasks"],
                "pids": {s: p.pid for s, p in procs.items()},
            }
    finally:
        _stop(list(procs.values()))
        for db in dbs.values():
            with contextlib.suppress(Exception):
                _admin_sql(base_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


async def arrange(identity: str, tasks: str, tasks_db: str) -> tuple[str, str]:
    """A member of a team with a board, a label and a labelled task with a subtask; returns
    (token, task id)."""
    async with httpx.AsyncClient(base_url=identity, timeout=30) as client:
        h = await register_and_login(client, "taskread")
        me = await http_ok(await client.get("/api/v1/users/me", headers=h), 200)
    team_id = uuid.uuid4()
    conn = await asyncpg.connect(tasks_db)
    try:  # what tasks' membership consumer writes from teams.member.added
        await conn.execute(
            "INSERT INTO team_members (team_id, user_id, role, seq) VALUES ($1, $2, 'owner', 1)",
            team_id,
            uuid.UUID(me["id"]),
        )
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=tasks, headers=h, timeout=30) as client:
        board = await http_ok(
            await client.post(f"/api/v1/teams/{team_id}/boards", json={"name": "Read bench"}),
            201,
        )
        full = await http_ok(await client.get(f"/api/v1/boards/{board['id']}"), 200)
        label = await http_ok(
            await client.post(
                f"/api/v1/teams/{team_id}/labels", json={"name": "bug", "color": "#D73A4A"}
            ),
            201,
        )
        task = await http_ok(
            await client.post(
                f"/api/v1/columns/{full['columns'][0]['id']}/tasks",
                json={
                    "title": "Read me",
                    "description": "Benchmark task " * 4,
                    "label_ids": [label["id"]],
                },
            ),
            201,
        )
        await http_ok(
            await client.post(f"/api/v1/tasks/{task['id']}/subtasks", json={"title": "step"}),
            201,
        )
    return h["Authorization"].removeprefix("Bearer "), str(task["id"])


def run(args: argparse.Namespace) -> int:
    rep = Report("task_read_bench")
    base = bench_database_url()
    if not postgres_reachable(base):
        rep.note(f"not measured: no PostgreSQL at {base}")
        return rep.finish()
    with services(base) as env:
        urls, pids = env["urls"], env["pids"]
        token, task_id = asyncio.run(arrange(urls["identity"], urls["tasks"], env["tasks_db"]))
        path = f"/api/v1/tasks/{task_id}"
        kw = load_options(args)
        rounds: list[tuple[Result, Result]] = []
        print(f"GET {path}: bare app vs tasks, {args.rounds} rounds; load {loadavg()}")
        for i in range(args.rounds):
            bare = measure("bare", urls["bare"] + path, token, pids={"bare": pids["bare"]}, **kw)
            direct = measure(
                "tasks", urls["tasks"] + path, token, pids={"tasks": pids["tasks"]}, **kw
            )
            rounds.append((bare, direct))
            for r in (bare, direct):
                cpu = ", ".join(f"{k} {v:.0f} us" for k, v in r.cpu_us.items())
                print(
                    f"{i + 1} {r.target:<6} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                    f"p99 {r.p99_ms:7.2f} ms  errors {r.errors}  CPU/request {cpu}  [{r.tool}]"
                )
        board_rounds = asyncio.run(
            board_phase(urls, pids, token, task_id, args.board_tasks, load_options(args), args)
        )
        move_rounds = (
            asyncio.run(move_phase(urls, pids, token, task_id, args)) if args.board_tasks else []
        )
    ratios = [d.rps / b.rps for b, d in rounds if b.rps]
    bare_rps = statistics.median(b.rps for b, _ in rounds)
    tasks_rps = statistics.median(d.rps for _, d in rounds)
    errors = sum(b.errors + d.errors for b, d in rounds)
    rep.figure("bare FastAPI+asyncpg GET /tasks/{id}", bare_rps, "req/s")
    rep.figure("tasks GET /tasks/{id} direct", tasks_rps, "req/s")
    rep.target(
        "tasks GET /tasks/{id} / bare app (median)",
        statistics.median(ratios) if ratios else float("nan"),
        ">=",
        TARGET_RATIO,
        "x",
        anchor=("bare FastAPI+asyncpg", bare_rps),
        note=f"tasks {tasks_rps:.0f} req/s",
    )
    if board_rounds:
        rep.figure(
            f"tasks GET /boards/{{id}} p50 ({args.board_tasks} tasks, direct)",
            statistics.median(d.p50_ms for _, d in board_rounds),
            "ms",
            anchor=("bare app's p50", statistics.median(b.p50_ms for b, _ in board_rounds)),
        )
        rep.figure(
            f"tasks GET /boards/{{id}} ({args.board_connections} connections)",
            statistics.median(d.rps for _, d in board_rounds),
            "req/s",
            anchor=("bare FastAPI+asyncpg", statistics.median(b.rps for b, _ in board_rounds)),
        )
        errors += sum(b.errors + d.errors for b, d in board_rounds)
    if move_rounds:
        bare_moves = statistics.median(b.rps for b, _ in move_rounds)
        tasks_moves = statistics.median(d.rps for _, d in move_rounds)
        cpu = statistics.median(d.cpu_us.get("tasks", float("nan")) for _, d in move_rounds)
        bare_cpu = statistics.median(b.cpu_us.get("bare", float("nan")) for b, _ in move_rounds)
        rep.target(
            f"moves on one board ({args.move_clients} clients, direct)",
            tasks_moves,
            ">=",
            TARGET_MOVES,
            "moves/s",
            anchor=("bare FastAPI+asyncpg", bare_moves),
            note=(
                f"ratio {statistics.median(d.rps / b.rps for b, d in move_rounds if b.rps):.2f} "
                f"(median of the rounds'); CPU a move: tasks {cpu / 1000:.2f} ms, "
                f"bare {bare_cpu / 1000:.2f} ms"
                if bare_moves
                else None
            ),
        )
        errors += sum(b.errors + d.errors for b, d in move_rounds)
    if errors:
        rep.note(f"{errors} answers were errors: the figures are not comparable")
    return rep.finish()


async def board_phase(
    urls: dict[str, str],
    pids: dict[str, int],
    token: str,
    task_id: str,
    n: int,
    kw: dict[str, Any],
    args: argparse.Namespace,
) -> list[tuple[Result, Result]]:
    """The task's board filled to ``n`` tasks, then the bare app's and tasks' board answers."""
    if n <= 0:
        return []
    h = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=urls["tasks"], headers=h, timeout=60) as client:
        task = await http_ok(await client.get(f"/api/v1/tasks/{task_id}"), 200)
        path = f"/api/v1/boards/{task['board_id']}"
        board = await http_ok(await client.get(path), 200)
        columns = [c["id"] for c in board["columns"]]
        for i in range(n - 1):
            await http_ok(
                await client.post(
                    f"/api/v1/columns/{columns[i % len(columns)]}/tasks",
                    json={"title": f"Board task {i}", "description": "Benchmark task " * 4},
                ),
                201,
            )
    kw = {**kw, "connections": args.board_connections}
    print(f"GET {path} ({n} tasks): bare app vs tasks; load {loadavg()}")
    out: list[tuple[Result, Result]] = []
    for i in range(args.rounds):
        bare = await asyncio.to_thread(
            measure, "bare", urls["bare"] + path, token, pids={"bare": pids["bare"]}, **kw
        )
        direct = await asyncio.to_thread(
            measure, "tasks", urls["tasks"] + path, token, pids={"tasks": pids["tasks"]}, **kw
        )
        out.append((bare, direct))
        for r in (bare, direct):
            print(
                f"{i + 1} {r.target:<6} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                f"p99 {r.p99_ms:7.2f} ms  errors {r.errors}  [{r.tool}]"
            )
    return out


MOVES_LUA = """
math.randomseed(1)
local tasks = {%(tasks)s}
local columns = {%(columns)s}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format('{"column_id":"%%s","position":%%d}',
    columns[math.random(#columns)], math.random(0, 200))
  return wrk.format(nil, "/api/v1/tasks/" .. tasks[math.random(#tasks)] .. "/move", nil, body)
end
"""


async def move_phase(
    urls: dict[str, str], pids: dict[str, int], token: str, task_id: str, args: argparse.Namespace
) -> list[tuple[Result, Result]]:
    """Random moves on the task's board (filled by :func:`board_phase`): the bare app's, then
    tasks', ``args.rounds`` times."""
    h = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=urls["tasks"], headers=h, timeout=60) as client:
        task = await http_ok(await client.get(f"/api/v1/tasks/{task_id}"), 200)
        board = await http_ok(await client.get(f"/api/v1/boards/{task['board_id']}"), 200)
    columns = [c["id"] for c in board["columns"]]
    tasks = [t["id"] for c in board["columns"] for t in c["tasks"]]
    print(
        f"POST /api/v1/tasks/{{id}}/move: {len(tasks)} tasks, {len(columns)} columns, "
        f"{args.move_clients} clients; load {loadavg()}"
    )
    out: list[tuple[Result, Result]] = []
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(
            MOVES_LUA
            % {
                "tasks": ",".join(f'"{t}"' for t in tasks),
                "columns": ",".join(f'"{c}"' for c in columns),
            }
        )
    try:
        for i in range(args.rounds):
            pair = []
            for name in ("bare", "tasks"):
                pair.append(
                    await asyncio.to_thread(
                        _moves, name, urls[name], pids[name], token, lua.name, tasks, columns, args
                    )
                )
            bare, direct = pair
            out.append((bare, direct))
            for r in (bare, direct):
                cpu = ", ".join(f"{k} {v / 1000:.2f} ms" for k, v in r.cpu_us.items())
                print(
                    f"{i + 1} {r.target:<6} {r.rps:8.1f} moves/s  p50 {r.p50_ms:6.1f} ms  "
                    f"p99 {r.p99_ms:7.1f} ms  errors {r.errors}  CPU/move {cpu}  [{r.tool}]"
                )
    finally:
        os.unlink(lua.name)
    return out


def _moves(
    name: str,
    url: str,
    pid: int,
    token: str,
    script: str,
    tasks: list[str],
    columns: list[str],
    args: argparse.Namespace,
) -> Result:
    use_wrk = args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk"))
    if args.warmup > 0:
        _move_load(name, url, token, script, tasks, columns, args.warmup, args, use_wrk)
    before = cpu_seconds(pid)
    result = _move_load(name, url, token, script, tasks, columns, args.duration, args, use_wrk)
    if result.requests:
        result.cpu_us[name] = round((cpu_seconds(pid) - before) / result.requests * 1e6, 1)
    return result


def _move_load(
    name: str,
    url: str,
    token: str,
    script: str,
    tasks: list[str],
    columns: list[str],
    duration: float,
    args: argparse.Namespace,
    use_wrk: bool,
) -> Result:
    if use_wrk:
        return run_wrk(name, url, token, duration, args.move_clients, 1, script=script)
    return asyncio.run(_python_moves(name, url, token, tasks, columns, duration, args.move_clients))


async def _python_moves(
    name: str, url: str, token: str, tasks: list[str], columns: list[str], seconds: float, n: int
) -> Result:
    """The moves without wrk: ``n`` clients in this process (it costs more of the machine)."""
    import random

    rng = random.Random(1)
    samples: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=n)
    h = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=h, timeout=60, limits=limits) as client:

        async def one() -> None:
            nonlocal errors
            while (t0 := time.perf_counter()) < deadline:
                r = await client.post(
                    f"/api/v1/tasks/{rng.choice(tasks)}/move",
                    json={"column_id": rng.choice(columns), "position": rng.randint(0, 200)},
                )
                samples.append(time.perf_counter() - t0)
                errors += r.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        spent = time.perf_counter() - started
    p50, p99 = pct_ms(samples, 50), pct_ms(samples, 99)
    return Result(name, url, len(samples), len(samples) / spent, p50, p99, errors, f"python x{n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.task_read_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=quick(5.0, 2.0), help="s per target")
    parser.add_argument("--warmup", type=float, default=quick(2.0, 1.0), help="s per target")
    parser.add_argument("--rounds", type=int, default=int(quick(3, 1)))
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--board-tasks", type=int, default=int(quick(500, 100)))
    parser.add_argument("--board-connections", type=int, default=4)
    parser.add_argument("--move-clients", type=int, default=8)
    started = time.perf_counter()
    code = run(parser.parse_args(argv))
    print(f"task_read_bench took {time.perf_counter() - started:.0f} s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
