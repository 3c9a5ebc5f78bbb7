"""The chaos run: faults through the platform's real processes under a steady workload, then
analytics' counts against the ground truth the workload recorded.

The workload (through the gateway, one asyncio driver): per team, each member creates tasks and
completes them (a move into the board's ``Done`` column), and runs focus sessions for the team
(start, hold 20-70 s, stop). The truth is exact: a 2xx answer is committed; a request whose answer
was lost or failed (connection error, timeout, 5xx) is settled afterwards through the API (the
task's column; the user's sessions as the focus service lists them). Each task is completed at
most once, so "in Done" means "completed once".

Each fault kills one process with SIGKILL (``kill -9``) and lets the platform bring it back (the
dev runner restarts services and, since this suite, its embedded PostgreSQL and NATS). Two
recovery times are measured from the kill: **api** until the first 2xx through the gateway on the
path the fault hits, **flow** until a completion committed after the kill is counted by
analytics (the event flow resumed: outbox relay, broker, consumer). Then the workload pauses, the
pipeline drains, and the counts are compared: every fault row says how many completions / focus
minutes were lost or counted twice since the previous row.

Which process holds what (``make run``): the outbox relay runs inside each producing service
(``vc_common.events.runtime``), so killing tasks kills its relay too; the analytics consumer runs
inside the analytics process; the broker is devrun's embedded nats-server; PostgreSQL is devrun's
embedded postmaster.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.launch import RunningPlatform, new_user, processes

TIMEOUT = 10.0  # a client's patience: past it the answer counts as lost


@dataclass
class Member:
    id: str
    headers: dict[str, str]


@dataclass
class Team:
    id: str
    board_id: str
    todo: str
    done: str
    members: list[Member]
    completed: set[str] = field(default_factory=set)  # tasks known to be in Done
    uncertain: set[str] = field(default_factory=set)  # moves whose answer was not a 2xx


@dataclass
class Call:
    at: float
    op: str
    status: int | None  # None: no answer (connection error or timeout)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Counts:
    tasks: int = 0
    minutes: int = 0


@dataclass
class Row:
    fault: str
    restart_s: float | None  # until devrun said it restarted the process
    api_s: float | None
    flow_s: float | None
    tried: int
    failed: int
    lost: int
    doubled: int
    note: str = ""
    failures: str = ""  # the failed requests by answer: "503 x40, lost x3"


async def build_team(api: httpx.AsyncClient, name: str, size: int) -> Team:
    """A team of ``size`` members (the first its owner) with one board."""
    users = [await new_user(api, f"{name}{i}") for i in range(size)]
    owner = users[0]["headers"]
    r = await api.post(
        "/api/v1/teams", json={"name": f"{name} {uuid.uuid4().hex[:6]}"}, headers=owner
    )
    assert r.status_code == 201, r.text
    team_id = r.json()["id"]
    for u in users[1:]:
        r = await api.post(
            f"/api/v1/teams/{team_id}/members",
            json={"user_id": u["id"], "role": "member"},
            headers=owner,
        )
        assert r.status_code == 201, r.text
    r = await api.post(f"/api/v1/teams/{team_id}/boards", json={"name": "chaos"}, headers=owner)
    assert r.status_code == 201, r.text
    board_id = r.json()["id"]
    r = await api.get(f"/api/v1/boards/{board_id}", headers=owner)
    assert r.status_code == 200, r.text
    columns = r.json()["columns"]
    done = next(c["id"] for c in columns if c["is_done"])
    todo = next(c["id"] for c in columns if not c["is_done"])
    return Team(team_id, board_id, todo, done, [Member(u["id"], u["headers"]) for u in users])


def _days() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    return (today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()


class Workload:
    """The steady workload and its ground truth."""

    def __init__(
        self,
        api: httpx.AsyncClient,
        teams: list[Team],
        hold: tuple[float, float],
        *,
        also: list[Team] = (),  # type: ignore[assignment]
    ) -> None:
        self.api = api
        self.workers_on = teams
        self.teams = [*teams, *also]  # the truth covers these too (the probe's team)
        self.hold = hold
        self.calls: list[Call] = []
        self.go = asyncio.Event()
        self.go.set()
        self.stopping = False
        self._stopped = asyncio.Event()
        self.busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []

    # -- one request, recorded -----------------------------------------------------------

    async def call(
        self, op: str, method: str, url: str, headers: dict[str, str], **kw: Any
    ) -> httpx.Response | None:
        at = time.monotonic()
        try:
            r = await self.api.request(method, url, headers=headers, timeout=TIMEOUT, **kw)
        except httpx.HTTPError:
            self.calls.append(Call(at, op, None))
            return None
        self.calls.append(Call(at, op, r.status_code))
        return r

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        """One unit of work (a create and its move; a start; a stop), never cut by a pause:
        :meth:`pause` returns once every unit begun has ended."""
        while True:
            await self.go.wait()
            if self.go.is_set():  # not paused again between the wake-up and now
                break
        self.busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.busy -= 1
            if self.busy == 0:
                self._idle.set()

    # -- workers -------------------------------------------------------------------------

    async def complete_one(self, team: Team, member: Member, op: str = "task") -> bool:
        """Create a task and move it into Done; True when the move answered 2xx."""
        r = await self.call(
            f"{op}.create",
            "POST",
            f"/api/v1/columns/{team.todo}/tasks",
            member.headers,
            json={"title": f"chaos {uuid.uuid4().hex[:8]}", "assignee_id": member.id},
        )
        if r is None or r.status_code != 201:
            return False  # a task left in To do (if it was created) completes nothing
        task_id = r.json()["id"]
        r = await self.call(
            f"{op}.complete",
            "POST",
            f"/api/v1/tasks/{task_id}/move",
            member.headers,
            json={"column_id": team.done, "position": 0},
        )
        if r is not None and r.status_code == 200:
            team.completed.add(task_id)
            return True
        team.uncertain.add(task_id)
        return False

    async def task_worker(self, team: Team, member: Member) -> None:
        while not self.stopping:
            async with self.unit():
                ok = await self.complete_one(team, member)
            await asyncio.sleep(random.uniform(0.1, 0.4) if ok else 0.5)

    async def focus_worker(self, team: Team, member: Member) -> None:
        while not self.stopping:
            async with self.unit():
                r = await self.call(
                    "focus.start",
                    "POST",
                    "/api/v1/focus/sessions",
                    member.headers,
                    json={"focus_type": "custom", "duration_minutes": 10, "team_id": team.id},
                )
                if r is not None and r.status_code == 409:  # one left running by a lost answer
                    r = await self.call(
                        "focus.current", "GET", "/api/v1/focus/sessions/current", member.headers
                    )
            if r is None or r.status_code not in (200, 201):
                await asyncio.sleep(1.0)
                continue
            session_id = r.json()["id"]
            # hold the session; a pause (a checkpoint) waits before the stop, never during it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), random.uniform(*self.hold))
            async with self.unit():
                r = await self.call(
                    "focus.stop",
                    "POST",
                    f"/api/v1/focus/sessions/{session_id}/stop",
                    member.headers,
                )
            await asyncio.sleep(0.2 if r is not None and r.status_code == 200 else 1.0)

    def start(self) -> None:
        for team in self.workers_on:
            for i, member in enumerate(team.members):
                self._tasks.append(asyncio.create_task(self.task_worker(team, member)))
                if i < 2:  # two focusing members a team
                    self._tasks.append(asyncio.create_task(self.focus_worker(team, member)))

    async def pause(self) -> None:
        self.go.clear()
        await self._idle.wait()

    def resume(self) -> None:
        self.go.set()

    async def stop(self) -> None:
        self.stopping = True
        self._stopped.set()
        self.go.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for team in self.teams:  # end what is still running, so it counts
            for member in team.members:
                await self._stop_running(member)

    async def _stop_running(self, member: Member) -> None:
        for _ in range(20):
            try:
                r = await self.api.get("/api/v1/focus/sessions/current", headers=member.headers)
                if r.status_code == 404:
                    return
                if r.status_code == 200:
                    sid = r.json()["id"]
                    await self.api.post(
                        f"/api/v1/focus/sessions/{sid}/stop", headers=member.headers
                    )
                    continue
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)

    # -- the truth -----------------------------------------------------------------------

    async def _get(self, url: str, headers: dict[str, str], **params: Any) -> Any:
        """A read that must succeed (the platform is up again): retried for up to a minute."""
        deadline = time.monotonic() + 60
        while True:
            try:
                r = await self.api.get(url, headers=headers, params=params, timeout=TIMEOUT)
                if r.status_code == 200:
                    return r.json()
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"GET {url} did not answer 200 within a minute")
            await asyncio.sleep(0.5)

    async def truth(self) -> dict[str, Counts]:
        """What was committed, per team: uncertain completions settled by the task's column,
        focus minutes as the focus service lists its ended sessions."""
        out: dict[str, Counts] = {}
        for team in self.teams:
            owner = team.members[0].headers
            for task_id in sorted(team.uncertain):
                task = await self._get(f"/api/v1/tasks/{task_id}", owner)
                if task["column_id"] == team.done:
                    team.completed.add(task_id)
            team.uncertain.clear()
            minutes = 0
            for member in team.members:
                cursor: str | None = None
                while True:
                    params: dict[str, Any] = {"team_id": team.id, "limit": 200}
                    if cursor:
                        params["cursor"] = cursor
                    page = await self._get("/api/v1/focus/sessions", member.headers, **params)
                    minutes += sum(
                        s["actual_duration_minutes"] or 0
                        for s in page["items"]
                        if s["end_time"] is not None and s["team_id"] == team.id
                    )
                    cursor = page["next_cursor"]
                    if not cursor:
                        break
            out[team.id] = Counts(len(team.completed), minutes)
        return out

    async def counted(self, teams: list[Team] | None = None) -> dict[str, Counts]:
        """What analytics counted, per team (its daily rows around today, summed)."""
        start, end = _days()
        out: dict[str, Counts] = {}
        for team in teams or self.teams:
            body = await self._get(
                f"/api/v1/teams/{team.id}/analytics",
                team.members[0].headers,
                **{"from": start, "to": end},
            )
            out[team.id] = Counts(
                sum(d["completed_tasks"] for d in body["items"]),
                sum(d["total_focus_minutes"] for d in body["items"]),
            )
        return out

    async def drain(self, within: float) -> tuple[dict[str, Counts], dict[str, Counts]]:
        """Wait until analytics has counted everything committed (then a few seconds more, so a
        late second copy would show); return (truth, counted)."""
        truth = await self.truth()
        deadline = time.monotonic() + within
        while True:
            counted = await self.counted()
            if all(
                counted[t].tasks >= truth[t].tasks and counted[t].minutes >= truth[t].minutes
                for t in truth
            ):
                await asyncio.sleep(3.0)
                return truth, await self.counted()
            if time.monotonic() > deadline:
                return truth, counted
            await asyncio.sleep(0.5)


def discrepancy(truth: dict[str, Counts], counted: dict[str, Counts]) -> tuple[int, int]:
    """(lost, doubled): completions plus focus minutes missing from / beyond the truth."""
    lost = doubled = 0
    for team, t in truth.items():
        c = counted[team]
        for want, got in ((t.tasks, c.tasks), (t.minutes, c.minutes)):
            lost += max(0, want - got)
            doubled += max(0, got - want)
    return lost, doubled


# --- faults -------------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    target: str  # the process name in tests.launch.processes()
    path: str  # "tasks", "focus" or "analytics": which route the api recovery is timed on
    flow: bool = True  # whether the fault stops task completions reaching analytics


FAULTS = {
    "tasks": Fault("kill -9 tasks (and its outbox relay)", "tasks", "tasks"),
    # focus's events are focus minutes, checked by the rows' lost/doubled; the flow probe times
    # completions, which a focus crash does not hold up
    "focus": Fault("kill -9 focus (and its outbox relay)", "focus", "focus", flow=False),
    "analytics": Fault("kill -9 analytics (the consumer)", "analytics", "analytics"),
    "nats": Fault("kill -9 nats-server (the broker)", "nats", "tasks"),
    "postgres": Fault("kill -9 postgres (the postmaster)", "postgres", "tasks"),
}


class Chaos:
    def __init__(
        self,
        platform: RunningPlatform,
        api: httpx.AsyncClient,
        workload: Workload,
        probe: Team,
        *,
        recovery_limit: float = 150.0,
        drain_limit: float = 120.0,
    ) -> None:
        self.platform = platform
        self.api = api
        self.workload = workload
        self.probe = probe
        self.recovery_limit = recovery_limit
        self.drain_limit = drain_limit
        self.rows: list[Row] = []
        self._lost = 0
        self._doubled = 0

    def kill(self, target: str) -> list[int]:
        pids = processes(self.platform).get(target, [])
        assert pids, f"no {target} process among {processes(self.platform)}"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    async def _until_ok(self, probe: Callable[[], Awaitable[bool]], since: float) -> float | None:
        while time.monotonic() - since < self.recovery_limit:
            try:
                if await probe():
                    return time.monotonic() - since
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        return None

    async def _api_ok(self, path: str) -> bool:
        owner = self.probe.members[0].headers
        if path == "tasks":
            url = f"/api/v1/boards/{self.probe.board_id}"
        elif path == "focus":
            url = "/api/v1/focus/sessions?limit=1"
        else:
            start, end = _days()
            url = f"/api/v1/teams/{self.probe.id}/analytics?from={start}&to={end}"
        r = await self.api.get(url, headers=owner, timeout=2.0)
        return r.status_code == 200

    async def _flow_ok(self) -> bool:
        """One completion committed after the kill, then until analytics counts all of the
        probe team's committed completions."""
        member = self.probe.members[0]
        while not await self.workload.complete_one(self.probe, member, op="probe"):  # noqa: ASYNC110
            await asyncio.sleep(0.3)
        want = len(self.probe.completed)
        start, end = _days()
        url = f"/api/v1/teams/{self.probe.id}/analytics?from={start}&to={end}"
        while True:
            with contextlib.suppress(httpx.HTTPError):
                r = await self.api.get(url, headers=member.headers, timeout=2.0)
                done = r.status_code == 200 and sum(d["completed_tasks"] for d in r.json()["items"])
                if done and done >= want:
                    return True
            await asyncio.sleep(0.3)

    async def checkpoint(
        self,
        name: str,
        since: float,
        api_s: float | None,
        flow_s: float | None,
        restart_s: float | None = None,
    ) -> Row:
        await self.workload.pause()
        try:
            truth, counted = await self.workload.drain(self.drain_limit)
        finally:
            self.workload.resume()
        lost, doubled = discrepancy(truth, counted)
        calls = [c for c in self.workload.calls if c.at >= since and not c.op.startswith("probe")]
        row = Row(
            name,
            restart_s,
            api_s,
            flow_s,
            tried=len(calls),
            failed=sum(1 for c in calls if not c.ok),
            lost=lost - self._lost,
            doubled=doubled - self._doubled,
            failures=", ".join(
                f"{'lost' if k is None else k} x{n}"
                for k, n in Counter(c.status for c in calls if not c.ok).most_common()
            ),
            note=", ".join(
                f"{t[:8]}: {truth[t].tasks} done/{counted[t].tasks} counted, "
                f"{truth[t].minutes} min/{counted[t].minutes} counted"
                for t in truth
                if (truth[t].tasks, truth[t].minutes) != (counted[t].tasks, counted[t].minutes)
            ),
        )
        self._lost, self._doubled = lost, doubled
        self.rows.append(row)
        return row

    async def baseline(self, seconds: float) -> Row:
        since = time.monotonic()
        await asyncio.sleep(seconds)
        return await self.checkpoint("none (baseline)", since, None, None)

    async def inject(self, key: str, warm: float) -> Row:
        fault = FAULTS[key]
        await asyncio.sleep(warm)
        restarts = self.platform.log().count(f"restarted {fault.target} (pid")
        since = time.monotonic()
        self.kill(fault.target)
        restart_task = asyncio.create_task(self._restarted(fault.target, restarts, since))
        api_task = asyncio.create_task(self._until_ok(lambda: self._api_ok(fault.path), since))
        flow_task = asyncio.create_task(
            asyncio.wait_for(self._until_ok(self._flow_ok, since), self.recovery_limit + 5)
        )
        api_s = await api_task
        try:
            flow_s = await flow_task
        except TimeoutError:
            flow_s = None
        if not fault.flow:
            flow_s = None
        restart_task.cancel()
        restart_s = (
            None if not restart_task.done() or restart_task.cancelled() else restart_task.result()
        )
        return await self.checkpoint(fault.name, since, api_s, flow_s, restart_s)

    async def _restarted(self, target: str, before: int, since: float) -> float | None:
        while time.monotonic() - since < self.recovery_limit:
            if self.platform.log().count(f"restarted {target} (pid") > before:
                return time.monotonic() - since
            await asyncio.sleep(0.25)
        return None


def table(rows: list[Row]) -> str:
    head = (
        "fault",
        "restarted s",
        "api recovery s",
        "flow recovery s",
        "requests tried",
        "failed during fault",
        "lost",
        "doubled",
        "failed requests' answers",
    )

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    body = [
        (
            r.fault,
            fmt(r.restart_s),
            fmt(r.api_s),
            fmt(r.flow_s),
            str(r.tried),
            str(r.failed),
            str(r.lost),
            str(r.doubled),
            r.failures or "-",
        )
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) + " |" for b in body
    ]
    return "\n".join(lines)
