"""The soak: a mixed workload through the gateway for a while, every process of the platform
sampled from /proc (resident memory, open file descriptors), then checks: no unexpected answer,
and no growth past a bound after the warm-up.

Each member of each team runs one loop that picks, by weight: create a task, move one, complete
one (into Done), post a chat message, start or stop a focus session, or a read (the board, the
team's tasks, the room's messages, the team's analytics, the caller's profile, its teams). One
live socket per team on the realtime service (``/api/v1/ws``) and one chat room socket stay open
all along and must keep receiving.

Growth: a process's samples after the warm-up; RSS growth is the median of the last quarter minus
the median of the first quarter (a median, so one garbage-collection peak does not decide); fds
the same. A process that was restarted (a new pid) is an error in itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.chaos.harness import Member, Team, build_team
from tests.launch import RunningPlatform, processes

PAGE = os.sysconf("SC_PAGE_SIZE")
PING_EVERY = 15.0  # a socket that sends nothing for 60 s is closed 4408 (chat's heartbeat)


@dataclass
class Sample:
    at: float
    rss: int  # bytes
    fds: int


@dataclass
class Proc:
    name: str
    pid: int
    samples: list[Sample] = field(default_factory=list)
    gone: bool = False


def read_proc(pid: int) -> tuple[int, int] | None:
    """(resident bytes, open fds) of ``pid``, or None once it is gone."""
    try:
        rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError, IndexError):
        return None
    return rss_pages * PAGE, fds


@dataclass
class Growth:
    name: str
    pid: int
    rss_start_mib: float
    rss_end_mib: float
    rss_growth_mib: float
    fds_start: int
    fds_end: int
    fds_growth: int
    samples: int
    gone: bool


def growth(proc: Proc, warm_until: float) -> Growth:
    kept = [s for s in proc.samples if s.at >= warm_until] or proc.samples
    quarter = max(1, len(kept) // 4)
    first, last = kept[:quarter], kept[-quarter:]
    rss0 = statistics.median(s.rss for s in first) / 2**20
    rss1 = statistics.median(s.rss for s in last) / 2**20
    fd0 = round(statistics.median(s.fds for s in first))
    fd1 = round(statistics.median(s.fds for s in last))
    return Growth(
        proc.name, proc.pid, rss0, rss1, rss1 - rss0, fd0, fd1, fd1 - fd0, len(kept), proc.gone
    )


class Sampler:
    def __init__(self, platform: RunningPlatform, every: float) -> None:
        self.every = every
        self.procs: list[Proc] = []
        for name, pids in sorted(processes(platform).items()):
            for k, pid in enumerate(sorted(pids)):
                label = name if len(pids) == 1 else f"{name}#{k + 1}"
                self.procs.append(Proc(label, pid))

    def sample(self) -> None:
        now = time.monotonic()
        for p in self.procs:
            got = None if p.gone else read_proc(p.pid)
            if got is None:
                p.gone = True
                continue
            p.samples.append(Sample(now, *got))

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            self.sample()
            await asyncio.sleep(self.every)
        self.sample()


@dataclass
class Failure:
    op: str
    status: int | None
    detail: str


@dataclass
class Soak:
    api: httpx.AsyncClient
    ws_base: str
    teams: list[Team]
    rooms: dict[str, str]  # team id -> room id
    tokens: dict[str, str]  # member id -> access token
    requests: int = 0
    failures: list[Failure] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)  # socket -> frames received
    ops: dict[str, int] = field(default_factory=dict)

    async def call(
        self, op: str, method: str, url: str, who: Member, ok: tuple[int, ...], **kw: Any
    ) -> Any:
        self.requests += 1
        self.ops[op] = self.ops.get(op, 0) + 1
        try:
            r = await self.api.request(method, url, headers=who.headers, **kw)
        except httpx.HTTPError as exc:
            self.failures.append(Failure(op, None, repr(exc)))
            return None
        if r.status_code not in ok:
            self.failures.append(Failure(op, r.status_code, r.text[:300]))
            return None
        return r.json() if r.content else {}

    async def member_loop(self, team: Team, who: Member, until: float) -> None:
        tasks: list[str] = []  # this member's tasks not in Done
        session: str | None = None
        room = self.rooms[team.id]
        columns: list[str] = []
        board = await self.call("board.get", "GET", f"/api/v1/boards/{team.board_id}", who, (200,))
        if board:
            columns = [c["id"] for c in board["columns"] if not c["is_done"]]
        while time.monotonic() < until:
            op = random.choices(
                ["create", "move", "complete", "message", "focus", "read"],
                weights=[3, 2, 2, 3, 1, 6],
            )[0]
            if op == "create" or (op in ("move", "complete") and not tasks):
                body = await self.call(
                    "task.create",
                    "POST",
                    f"/api/v1/columns/{team.todo}/tasks",
                    who,
                    (201,),
                    json={"title": f"soak {uuid.uuid4().hex[:8]}", "assignee_id": who.id},
                )
                if body:
                    tasks.append(body["id"])
            elif op == "move":
                await self.call(
                    "task.move",
                    "POST",
                    f"/api/v1/tasks/{random.choice(tasks)}/move",
                    who,
                    (200,),
                    json={"column_id": random.choice(columns or [team.todo]), "position": 0},
                )
            elif op == "complete":
                await self.call(
                    "task.complete",
                    "POST",
                    f"/api/v1/tasks/{tasks.pop()}/move",
                    who,
                    (200,),
                    json={"column_id": team.done, "position": 0},
                )
            elif op == "message":
                await self.call(
                    "chat.post",
                    "POST",
                    f"/api/v1/rooms/{room}/messages",
                    who,
                    (201,),
                    json={"content": f"soak {uuid.uuid4().hex}"},
                )
            elif op == "focus" and session is None:
                body = await self.call(
                    "focus.start",
                    "POST",
                    "/api/v1/focus/sessions",
                    who,
                    (201,),
                    json={"focus_type": "pomodoro", "team_id": team.id},
                )
                session = body["id"] if body else None
            elif op == "focus":
                await self.call(
                    "focus.stop", "POST", f"/api/v1/focus/sessions/{session}/stop", who, (200,)
                )
                session = None
            else:
                url = random.choice(
                    [
                        f"/api/v1/boards/{team.board_id}",
                        f"/api/v1/teams/{team.id}/tasks?limit=20",
                        f"/api/v1/rooms/{room}/messages?limit=20",
                        f"/api/v1/teams/{team.id}/analytics",
                        "/api/v1/users/me",
                        "/api/v1/teams",
                        f"/api/v1/teams/{team.id}/now",
                    ]
                )
                await self.call("read", "GET", url, who, (200,))
            await asyncio.sleep(random.uniform(0.05, 0.25))
        if session is not None:
            await self.call(
                "focus.stop", "POST", f"/api/v1/focus/sessions/{session}/stop", who, (200,)
            )

    async def socket(self, name: str, url: str, until: float, first: str | None = None) -> None:
        """Keep one socket open until ``until``, counting its frames; a close before is an
        error."""
        self.frames[name] = 0
        try:
            async with connect(url, open_timeout=20) as ws:
                if first is not None:
                    await ws.send(first)
                pinged = time.monotonic()
                while True:
                    left = until - time.monotonic()
                    if left <= 0:
                        return
                    if time.monotonic() - pinged > PING_EVERY:  # the sockets' heartbeat
                        await ws.send('{"type":"ping"}')
                        pinged = time.monotonic()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._frame(ws), min(left, 5.0))
                        self.frames[name] += 1
        except Exception as exc:  # a socket closed or refused during the soak
            self.failures.append(Failure(f"socket {name}", None, repr(exc)))

    @staticmethod
    async def _frame(ws: ClientConnection) -> Any:
        return orjson.loads(await ws.recv())


async def build_world(api: httpx.AsyncClient, teams: int, members: int) -> Soak:
    built = [await build_team(api, f"soak{i}", members) for i in range(teams)]
    rooms: dict[str, str] = {}
    for team in built:
        r = await api.post(
            f"/api/v1/teams/{team.id}/rooms",
            json={"name": f"soak {uuid.uuid4().hex[:6]}"},
            headers=team.members[0].headers,
        )
        assert r.status_code == 201, r.text
        rooms[team.id] = r.json()["id"]  # every member of the team may post in it
    tokens = {
        m.id: m.headers["Authorization"].removeprefix("Bearer ") for t in built for m in t.members
    }
    return Soak(api, str(api.base_url).replace("http", "ws", 1).rstrip("/"), built, rooms, tokens)


async def soak(world: Soak, seconds: float) -> None:
    until = time.monotonic() + seconds
    jobs = [world.member_loop(t, m, until) for t in world.teams for m in t.members]
    for i, team in enumerate(world.teams[:2]):
        token = world.tokens[team.members[-1].id]
        if i == 0:
            jobs.append(
                world.socket(
                    "realtime /api/v1/ws",
                    f"{world.ws_base}/api/v1/ws",
                    until,
                    first=orjson.dumps({"type": "auth", "token": token}).decode(),
                )
            )
        else:
            jobs.append(
                world.socket(
                    "chat room ws",
                    f"{world.ws_base}/api/v1/rooms/{world.rooms[team.id]}/ws?token={token}",
                    until,
                )
            )
    await asyncio.gather(*jobs)


def table(rows: list[Growth], rss_bound: float, fd_bound: int) -> str:
    head = (
        "process",
        "pid",
        "RSS start MiB",
        "RSS end MiB",
        "RSS growth MiB",
        "fds start",
        "fds end",
        "fds growth",
        "samples",
        "verdict",
    )
    body = []
    for g in rows:
        bad = g.gone or g.rss_growth_mib > rss_bound or abs(g.fds_growth) > fd_bound
        body.append(
            (
                g.name,
                str(g.pid),
                f"{g.rss_start_mib:.1f}",
                f"{g.rss_end_mib:.1f}",
                f"{g.rss_growth_mib:+.1f}",
                str(g.fds_start),
                str(g.fds_end),
                f"{g.fds_growth:+d}",
                str(g.samples),
                ("GONE" if g.gone else "OVER") if bad else "ok",
            )
        )
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) + " |" for b in body
    ]
    return "\n".join(lines)
