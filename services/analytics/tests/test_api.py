"""Read API rules, rebuild equality, team deletion, migrations."""

from __future__ import annotations

import argparse
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from analytics.__main__ import _rebuild
from analytics.consumers import consumer
from analytics.models import Base, TeamActivity, TeamAnalytics, UserAnalytics
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.db import Database
from vc_common.ids import uuid7
from vc_common.testing.migrations import check_migrations
from vc_common.testing.plugin import TestUser

from .conftest import Deliver, make_event
from .events import (
    focus_ended,
    meeting_ended,
    message_posted,
    participant_joined,
    task_completed,
)

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2026-11-25", "to": "2026-11-24"}, 422),
        ({"from": "2025-11-23", "to": "2026-11-24"}, 422),  # 367 days
        ({"from": "2025-11-24", "to": "2026-11-24"}, 200),  # 366 days
        ({"from": "2026-11-24", "to": "24/11/2026"}, 422),
        ({"from": "2026-02-30", "to": "2026-03-01"}, 422),
    ],
)
async def test_range_validation(
    client: httpx.AsyncClient, user: TestUser, params: dict[str, str], status: int
) -> None:
    r = await client.get("/api/v1/users/me/analytics", params=params, headers=user.headers)
    assert r.status_code == status, r.text
    if status == 422:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"]
    else:
        assert len(r.json()["items"]) == 366


async def test_default_range_is_the_last_30_days(client: httpx.AsyncClient, user: TestUser) -> None:
    r = await client.get("/api/v1/users/me/analytics", headers=user.headers)
    items = r.json()["items"]
    assert len(items) == 30
    assert items[-1]["date"] == datetime.now(UTC).date().isoformat()


@pytest.mark.usefixtures("fake_teams")
async def test_team_range_validation_and_outsiders(
    client: httpx.AsyncClient, make_user: Any, add_member: Any, deliver: Deliver
) -> None:
    member, outsider = make_user(), make_user()
    team = uuid7()
    await add_member(team, member)
    await deliver("tasks.task.completed", task_completed(team, member.id, T0))
    url = f"/api/v1/teams/{team}/analytics"
    q = {"from": "2026-11-24", "to": "2026-11-24"}
    r = await client.get(url, params=q, headers=outsider.headers)
    assert r.status_code == 404
    assert (
        r.json()["detail"]
        == (
            await client.get(
                f"/api/v1/teams/{uuid7()}/analytics", params=q, headers=outsider.headers
            )
        ).json()["detail"]
    )
    assert (await client.get(url, params=q)).status_code == 401
    r = await client.get(
        url, params={"from": "2026-11-25", "to": "2026-11-24"}, headers=member.headers
    )
    assert r.status_code == 422
    assert (await client.get(url, params=q, headers=member.headers)).json()["items"][0][
        "completed_tasks"
    ] == 1


async def test_me_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/users/me/analytics")).status_code == 401


async def snapshot(conn: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    t, u, a = TeamAnalytics, UserAnalytics, TeamActivity
    return {
        "team": [
            tuple(r)
            for r in await conn.execute(
                select(
                    t.team_id,
                    t.date,
                    t.active_members,
                    t.completed_tasks,
                    t.total_focus_minutes,
                    t.meetings_count,
                ).order_by(t.team_id, t.date)
            )
        ],
        "user": [
            tuple(r)
            for r in await conn.execute(
                select(
                    u.user_id, u.date, u.completed_tasks, u.focus_minutes, u.meetings_attended
                ).order_by(u.user_id, u.date)
            )
        ],
        "activity": [
            tuple(r)
            for r in await conn.execute(
                select(a.team_id, a.date, a.user_id).order_by(a.team_id, a.date, a.user_id)
            )
        ],
    }


async def feed_random_history(
    deliver: Deliver,
    set_timezone: Any,
    users: list[uuid.UUID],
    teams: list[uuid.UUID],
    n: int = 120,
) -> None:
    rng = random.Random(42)
    zones = ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati"]
    for u in users:
        await set_timezone(u, rng.choice(zones))
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for _ in range(n):
        u, team = rng.choice(users), rng.choice(teams)
        at = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
        kind = rng.randrange(5)
        if kind == 0:
            await deliver(
                "tasks.task.completed",
                task_completed(team, u, at, assignee=rng.choice([None, *users])),
            )
        elif kind == 1:
            m = rng.randrange(1, 200)
            # focus says which local days; the test only needs a valid split
            await deliver(
                "focus.session.ended",
                focus_ended(
                    u,
                    at,
                    m,
                    {(at + timedelta(minutes=m)).date().isoformat(): m},
                    team_id=rng.choice([None, team]),
                ),
            )
        elif kind == 2:
            await deliver("chat.message.posted", message_posted(team, u, at))
        elif kind == 3:
            meeting = uuid7()
            await deliver("meetings.participant.joined", participant_joined(team, meeting, u, at))
            await deliver(
                "meetings.meeting.ended",
                meeting_ended(team, meeting, u, at + timedelta(minutes=30)),
            )
        else:
            await deliver("tasks.task.completed", task_completed(team, u, at), time=T0)


async def test_rebuild_gives_the_same_numbers_as_live_consumption(
    client: httpx.AsyncClient,
    make_user: Any,
    deliver: Deliver,
    set_timezone: Any,
    db_connection: AsyncConnection,
) -> None:
    users = [uuid7() for _ in range(4)]
    teams = [uuid7() for _ in range(3)]
    await feed_random_history(deliver, set_timezone, users, teams)
    live = await snapshot(db_connection)
    assert live["team"]
    assert live["user"]
    staff = make_user(is_staff=True)
    r = await client.post(
        "/api/v1/admin/analytics/rebuild",
        json={"from": "2026-10-25", "to": "2026-11-30"},
        headers=staff.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["events"] > 100
    rebuilt = await snapshot(db_connection)
    for k in live:
        assert set(rebuilt[k]) ^ set(live[k]) == set(), k
    assert rebuilt == live
    # a range inside: only its rows are recomputed, and identically
    r = await client.post(
        "/api/v1/admin/analytics/rebuild",
        json={"from": "2026-11-07", "to": "2026-11-09"},
        headers=staff.headers,
    )
    assert r.status_code == 200
    assert await snapshot(db_connection) == live


async def test_rebuild_repairs_damaged_rows(
    client: httpx.AsyncClient,
    make_user: Any,
    user: TestUser,
    deliver: Deliver,
    db_connection: AsyncConnection,
) -> None:
    team = uuid7()
    await deliver("tasks.task.completed", task_completed(team, user.id, T0))
    before = await snapshot(db_connection)
    await db_connection.execute(update(TeamAnalytics).values(completed_tasks=99))
    await db_connection.execute(delete(UserAnalytics))
    r = await client.post(
        "/api/v1/admin/analytics/rebuild",
        json={"from": "2026-11-24", "to": "2026-11-24"},
        headers=make_user(is_staff=True).headers,
    )
    assert r.status_code == 200
    assert await snapshot(db_connection) == before


async def test_rebuild_is_staff_only_and_validates_the_range(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    body = {"from": "2026-11-01", "to": "2026-11-30"}
    r = await client.post("/api/v1/admin/analytics/rebuild", json=body, headers=make_user().headers)
    assert r.status_code == 403
    staff = make_user(is_staff=True).headers
    for bad in (
        {"from": "2026-11-30", "to": "2026-11-01"},
        {"from": "2020-01-01", "to": "2026-11-01"},
        {"to": "x"},
    ):
        r = await client.post("/api/v1/admin/analytics/rebuild", json=bad, headers=staff)
        assert r.status_code == 422, bad


async def test_a_deleted_teams_rows_go_with_it(
    client: httpx.AsyncClient,
    make_user: Any,
    add_member: Any,
    deliver: Deliver,
    db_connection: AsyncConnection,
) -> None:
    owner = make_user()
    team, kept = uuid7(), uuid7()
    await add_member(team, owner, "owner")
    await add_member(kept, owner, "owner")
    for t in (team, kept):
        await deliver("tasks.task.completed", task_completed(t, owner.id, T0))
    await deliver(
        "teams.team.deleted",
        {
            "team_id": str(team),
            "name": "gone",
            "user_id": str(owner.id),
            "actor_id": str(owner.id),
            "member_ids": [str(owner.id)],
        },
        subject=team,
    )
    rows = (
        await db_connection.execute(
            select(TeamAnalytics.team_id).where(TeamAnalytics.team_id == team)
        )
    ).all()
    assert rows == []
    assert (
        await db_connection.execute(
            select(TeamActivity.team_id).where(TeamActivity.team_id == team)
        )
    ).all() == []
    q = {"from": "2026-11-24", "to": "2026-11-24"}
    assert (
        await client.get(f"/api/v1/teams/{team}/analytics", params=q, headers=owner.headers)
    ).status_code == 404
    # a late event of the deleted team, and a rebuild, do not bring it back
    await deliver("tasks.task.completed", task_completed(team, owner.id, T0))
    await client.post(
        "/api/v1/admin/analytics/rebuild",
        json=q | {"from": "2026-11-20"},
        headers=make_user(is_staff=True).headers,
    )
    assert (
        await db_connection.execute(
            select(TeamAnalytics.team_id).where(TeamAnalytics.team_id == team)
        )
    ).all() == []
    # the other team, and the user's own rows, stay
    assert (
        await client.get(f"/api/v1/teams/{kept}/analytics", params=q, headers=owner.headers)
    ).json()["items"][0]["completed_tasks"] == 1
    mine = (await client.get("/api/v1/users/me/analytics", params=q, headers=owner.headers)).json()[
        "items"
    ][0]
    assert mine["completed_tasks"] == 3


async def test_rebuild_command(database_url: str, make_user: Any) -> None:
    """``python -m analytics rebuild`` on a real database (committed data, unique ids)."""
    db = Database(database_url, pool_size=2, max_overflow=0)
    team, u = uuid7(), make_user()
    day = date(2030, 1, 15) + timedelta(days=random.randrange(300))
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    try:
        for _ in range(3):
            await consumer.handle(
                db, make_event("tasks.task.completed", task_completed(team, u.id, at))
            )
        async with db.engine.begin() as conn:
            await conn.execute(
                update(TeamAnalytics).where(TeamAnalytics.team_id == team).values(completed_tasks=0)
            )
        args = argparse.Namespace(from_=day, to=day, database_url=database_url)
        assert await _rebuild(args) == 0
        async with db.engine.connect() as conn:
            n = (
                await conn.execute(
                    select(TeamAnalytics.completed_tasks).where(TeamAnalytics.team_id == team)
                )
            ).scalar_one()
        assert n == 3
        bad = argparse.Namespace(from_=day, to=day - timedelta(days=1), database_url=database_url)
        assert await _rebuild(bad) == 2
    finally:
        await db.dispose()


async def test_every_migration_up_and_down_and_head_matches_the_models() -> None:
    await check_migrations("analytics", Base.metadata)
