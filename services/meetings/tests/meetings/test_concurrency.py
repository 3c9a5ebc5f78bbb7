"""The state machine under concurrent requests, with real commits (``live_client``): two ends at
once end the meeting once, a join racing an end either lands before it (and is closed by it) or
is refused, concurrent first joins start the meeting once, and two replicas of the auto-end job
complete each meeting once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from teams_client.testing import FakeTeams, Team
from vc_common.jobs import run_job
from vc_common.testing.plugin import MovableClock, TestUser

from ..conftest import Schedule


@pytest.fixture(autouse=True)
def _no_background_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests run the job's ticks themselves."""
    monkeypatch.setenv("MEETINGS_AUTO_END_INTERVAL_SECONDS", "0")


@pytest_asyncio.fixture(autouse=True)
async def _forget_committed(live_app: Any, team: Team) -> AsyncIterator[None]:
    """These tests commit: take their team's rows away again (the other suites' ``outbox``
    reads the whole table of the shared test database)."""
    yield
    async with live_app.state.db.sessionmaker() as s:
        await s.execute(
            text("DELETE FROM outbox WHERE payload->'data'->>'team_id' = :t"), {"t": str(team.id)}
        )
        await s.execute(text("DELETE FROM meetings WHERE team_id = :t"), {"t": team.id})
        await s.commit()


async def _events(app: Any, meeting_id: str) -> list[dict[str, Any]]:
    async with app.state.db.sessionmaker() as s:
        rows = await s.execute(
            text("SELECT payload FROM outbox WHERE subject = :s ORDER BY seq"), {"s": meeting_id}
        )
        return [dict(r[0]) for r in rows]


def _now() -> datetime:
    return datetime.now(UTC)


async def test_two_ends_at_once_end_it_once(
    live_client: httpx.AsyncClient, live_app: Any, team: Team, schedule: Schedule
) -> None:
    for _ in range(5):
        m = await schedule(live_client, team, by=team.member, start=_now())
        url = f"/api/v1/meetings/{m['id']}"
        assert (
            await live_client.post(f"{url}/join", headers=team.member.headers)
        ).status_code == 200
        answers = await asyncio.gather(
            live_client.post(f"{url}/end", headers=team.member.headers),
            live_client.post(f"{url}/end", headers=team.admin.headers),
            live_client.post(f"{url}/end", headers=team.owner.headers),
        )
        assert sorted(a.status_code for a in answers) == [200, 409, 409]
        types = Counter(e["type"] for e in await _events(live_app, m["id"]))
        assert types["meetings.meeting.ended"] == 1
        assert types["meetings.participant.left"] == 1


async def test_no_join_lands_in_a_completed_meeting(
    live_client: httpx.AsyncClient,
    live_app: Any,
    team: Team,
    schedule: Schedule,
    fake_teams: FakeTeams,
    make_user: Callable[..., TestUser],
) -> None:
    guests = [make_user() for _ in range(20)]
    for g in guests:
        fake_teams.add(team.id, g.id, "member")
    m = await schedule(live_client, team, by=team.member, start=_now())
    url = f"/api/v1/meetings/{m['id']}"
    assert (await live_client.post(f"{url}/join", headers=team.member.headers)).status_code == 200

    some_in = asyncio.Event()
    answered = 0

    async def join(g: TestUser, delay: float) -> httpx.Response:
        nonlocal answered
        await asyncio.sleep(delay)
        r = await live_client.post(f"{url}/join", headers=g.headers)
        answered += 1
        if answered == 3:
            some_in.set()
        return r

    async def end() -> httpx.Response:
        await some_in.wait()  # in the middle of the racing joins
        return await live_client.post(f"{url}/end", headers=team.member.headers)

    # some are in already; then the end races the others
    early, racing = guests[:6], guests[6:]
    for g in racing:  # their memberships known here already: the joins go straight to the lock
        assert (await live_client.get(url, headers=g.headers)).status_code == 200
    first = await asyncio.gather(*(join(g, 0) for g in early))
    assert {r.status_code for r in first} == {200}
    answered = 0
    some_in.clear()
    t0 = asyncio.get_running_loop().time()
    *joins, ended = await asyncio.gather(
        *(join(g, 0.08 * i) for i, g in enumerate(racing)),
        end(),
    )
    asyncio.get_running_loop().time() - t0
    assert ended.status_code == 200, ended.text
    codes = Counter(r.status_code for r in joins)
    assert set(codes) <= {200, 409}, codes
    codes[200] += len(early)
    ended_at = datetime.fromisoformat(ended.json()["ended_at"].replace("Z", "+00:00"))

    events = await _events(live_app, m["id"])
    types = [e["type"] for e in events]
    end_at = types.index("meetings.meeting.ended")
    # every join that answered 200 landed before the end, and was closed by it
    assert types.count("meetings.participant.joined") == codes[200] + 1
    assert "meetings.participant.joined" not in types[end_at:]
    assert types.count("meetings.meeting.ended") == 1
    got = (await live_client.get(url, headers=team.member.headers)).json()
    assert got["status"] == "completed"
    assert {p["status"] for p in got["participants"]} <= {"left", "invited"}
    async with live_app.state.db.sessionmaker() as s:
        rows = (
            await s.execute(
                text("SELECT joined_at, left_at FROM attendance_intervals WHERE meeting_id = :m"),
                {"m": m["id"]},
            )
        ).all()
    assert len(rows) == codes[200] + 1
    assert all(left is not None and joined <= left <= ended_at for joined, left in rows)


async def test_concurrent_first_joins_start_it_once(
    live_client: httpx.AsyncClient,
    live_app: Any,
    team: Team,
    schedule: Schedule,
    fake_teams: FakeTeams,
    make_user: Callable[..., TestUser],
) -> None:
    guests = [make_user() for _ in range(10)]
    for g in guests:
        fake_teams.add(team.id, g.id, "member")
    m = await schedule(live_client, team, by=team.member, start=_now())
    url = f"/api/v1/meetings/{m['id']}"
    answers = await asyncio.gather(
        *(live_client.post(f"{url}/join", headers=g.headers) for g in guests),
        *(live_client.post(f"{url}/join", headers=guests[0].headers) for _ in range(3)),
    )
    assert {a.status_code for a in answers} == {200}, [
        a.text for a in answers if a.status_code != 200
    ]
    types = Counter(e["type"] for e in await _events(live_app, m["id"]))
    assert types["meetings.meeting.started"] == 1
    # a double-clicked join is one stay of one participant
    assert types["meetings.participant.joined"] == len(guests)
    people = (await live_client.get(f"{url}/participants", headers=team.member.headers)).json()
    assert sorted(p["user_id"] for p in people["items"] if p["status"] == "joined") == sorted(
        str(g.id) for g in guests
    )


async def test_two_replicas_of_the_job_complete_each_meeting_once(
    live_client: httpx.AsyncClient,
    live_app: Any,
    team: Team,
    schedule: Schedule,
    clock: MovableClock,
) -> None:
    start = datetime(2031, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 10_000)
    clock.set(start)
    meetings = [await schedule(live_client, team, by=team.member, start=start) for _ in range(6)]
    for m in meetings:
        r = await live_client.post(f"/api/v1/meetings/{m['id']}/join", headers=team.other.headers)
        assert r.status_code == 200
    clock.advance(hours=3)  # all past end_time + the overrun

    held, rest = meetings[0], meetings[1:]
    engine = live_app.state.db.engine
    async with engine.connect() as other:
        await other.begin()
        await other.execute(
            text("SELECT 1 FROM meetings WHERE id = :i FOR UPDATE"), {"i": held["id"]}
        )
        # a meeting a request holds is skipped, not waited for; the two passes share the rest
        done = await asyncio.wait_for(
            asyncio.gather(run_job(live_app, "auto_end"), run_job(live_app, "auto_end")), 10
        )
        await other.rollback()

    async def status(m: dict[str, Any]) -> str:
        r = await live_client.get(f"/api/v1/meetings/{m['id']}", headers=team.member.headers)
        return str(r.json()["status"])

    # (the shared database may hold other tests' meetings that are due as well)
    assert sum(done) >= len(rest)
    assert [await status(m) for m in rest] == ["completed"] * len(rest)
    assert await status(held) == "in_progress"
    # the held one, now free: this pass completes it, unless the live app's own auto_end tick
    # (it runs every 15 s on the same clock) did in between; either way once (events below)
    await run_job(live_app, "auto_end")
    assert await status(held) == "completed"
    assert await run_job(live_app, "auto_end") == 0
    for m in meetings:
        types = Counter(e["type"] for e in await _events(live_app, m["id"]))
        assert types["meetings.meeting.ended"] == 1, m["id"]
