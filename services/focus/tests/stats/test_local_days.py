"""Days are the user's local days: minutes of a session that crosses local midnight count on
each day, by the timezone identity told us (UTC until then)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from teams_client.testing import member_added

URL = "/api/v1/focus/sessions"
STATS = "/api/v1/focus/stats"


async def focus(
    client: httpx.AsyncClient,
    clock: Any,
    user: Any,
    start: str,
    minutes: float,
    *,
    interruptions: int = 0,
    **body: Any,
) -> dict[str, Any]:
    clock.set(start)
    resp = await client.post(
        URL, json={"focus_type": "custom", "duration_minutes": 120, **body}, headers=user.headers
    )
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    for _ in range(interruptions):
        await client.post(f"{URL}/{sid}/interrupt", headers=user.headers)
    clock.advance(minutes=minutes)
    stopped = await client.post(f"{URL}/{sid}/stop", headers=user.headers)
    assert stopped.status_code == 200
    return dict(stopped.json())


def day_minutes(stats: dict[str, Any]) -> dict[str, int]:
    return {r["date"]: r["total_focus_minutes"] for r in stats["items"]}


@pytest.mark.parametrize(
    ("timezone", "start", "split"),
    [
        # 23:30 in Los Angeles (UTC-8 in November) is 07:30Z the next UTC day
        ("America/Los_Angeles", "2026-11-25T07:30:00Z", {"2026-11-24": 30, "2026-11-25": 60}),
        # 23:15 in Kolkata (UTC+05:30) is 17:45Z the same UTC day
        ("Asia/Kolkata", "2026-11-24T17:45:00Z", {"2026-11-24": 45, "2026-11-25": 45}),
        # in UTC the same Kolkata instant is all on one day
        (None, "2026-11-24T17:45:00Z", {"2026-11-24": 90}),
    ],
)
async def test_minutes_count_on_each_local_day(
    client: httpx.AsyncClient,
    make_user: Any,
    clock: Any,
    outbox: Any,
    set_timezone: Any,
    timezone: str | None,
    start: str,
    split: dict[str, int],
) -> None:
    user = make_user()
    if timezone:
        await set_timezone(user, timezone, registered=True)
    ended = await focus(client, clock, user, start, 90)
    assert ended["minutes_by_day"] == split
    assert ended["timezone"] == (timezone or "UTC")
    [event] = await outbox("focus.session.ended")
    assert event["data"]["minutes_by_day"] == split
    assert event["data"]["timezone"] == (timezone or "UTC")
    stats = (await client.get(STATS, headers=user.headers)).json()
    assert day_minutes(stats) == split
    # the session's counters go to the local day it ended on
    last_day = max(split)
    by_day = {r["date"]: r for r in stats["items"]}
    assert by_day[last_day]["completed_sessions"] == 0  # 90 of 120 planned
    assert by_day[last_day]["avg_session_duration"] == 90


async def test_the_split_uses_the_latest_timezone(
    client: httpx.AsyncClient, make_user: Any, clock: Any, set_timezone: Any
) -> None:
    """A changed timezone applies to sessions ending from then on; counted days stay."""
    user = make_user()
    await set_timezone(user, "Asia/Kolkata", registered=True)
    first = await focus(client, clock, user, "2026-11-24T18:00:00Z", 60)  # 23:30-00:30 IST
    await set_timezone(user, "America/Los_Angeles")
    second = await focus(client, clock, user, "2026-11-25T07:50:00Z", 20)  # 23:50-00:10 PST
    assert first["minutes_by_day"] == {"2026-11-24": 30, "2026-11-25": 30}
    assert second["minutes_by_day"] == {"2026-11-24": 10, "2026-11-25": 10}
    stats = (await client.get(STATS, headers=user.headers)).json()
    assert day_minutes(stats) == {"2026-11-24": 40, "2026-11-25": 40}


async def test_daily_stats_add_up(
    client: httpx.AsyncClient, make_user: Any, clock: Any, set_timezone: Any
) -> None:
    user = make_user()
    await set_timezone(user, "America/Los_Angeles", registered=True)
    # three sessions on 2026-11-24 (local), one crossing into the 25th
    await focus(client, clock, user, "2026-11-24T17:00:00Z", 120, interruptions=2)  # completed
    await focus(client, clock, user, "2026-11-24T20:00:00Z", 30, interruptions=1)
    await focus(client, clock, user, "2026-11-25T07:00:00Z", 120)  # 23:00-01:00 local
    stats = (await client.get(STATS, headers=user.headers)).json()["items"]
    assert [
        {
            k: r[k]
            for k in (
                "date",
                "total_focus_minutes",
                "completed_sessions",
                "avg_session_duration",
                "interruptions",
                "team_id",
            )
        }
        for r in stats
    ] == [
        {
            "date": "2026-11-24",
            "total_focus_minutes": 120 + 30 + 60,
            "completed_sessions": 1,
            "avg_session_duration": 75.0,
            "interruptions": 3,
            "team_id": None,
        },
        {
            "date": "2026-11-25",
            "total_focus_minutes": 60,
            "completed_sessions": 1,
            "avg_session_duration": 120.0,
            "interruptions": 0,
            "team_id": None,
        },
    ]
    ranged = (
        await client.get(
            STATS, params={"from": "2026-11-25", "to": "2026-11-30"}, headers=user.headers
        )
    ).json()["items"]
    assert [r["date"] for r in ranged] == ["2026-11-25"]
    page = (await client.get(STATS, params={"limit": 1}, headers=user.headers)).json()
    assert [r["date"] for r in page["items"]] == ["2026-11-24"]
    nxt = (
        await client.get(
            STATS, params={"limit": 1, "cursor": page["next_cursor"]}, headers=user.headers
        )
    ).json()
    assert [r["date"] for r in nxt["items"]] == ["2026-11-25"]
    assert nxt["next_cursor"] is None
    other = (await client.get(STATS, headers=make_user().headers)).json()
    assert other == {"items": [], "next_cursor": None}


async def test_a_bad_range_is_rejected(client: httpx.AsyncClient, make_user: Any) -> None:
    user = make_user()
    resp = await client.get(
        STATS, params={"from": "2026-11-25", "to": "2026-11-24"}, headers=user.headers
    )
    assert resp.status_code == 422
    resp = await client.get(STATS, params={"from": "yesterday"}, headers=user.headers)
    assert resp.status_code == 422


@pytest.mark.usefixtures("fake_teams")
async def test_team_rows_count_only_that_teams_sessions(
    client: httpx.AsyncClient, make_user: Any, clock: Any, deliver: Any
) -> None:
    import uuid

    user, team = make_user(), uuid.uuid4()
    await deliver(member_added(team, user))
    await focus(client, clock, user, "2026-11-24T10:00:00Z", 60, team_id=str(team))
    await focus(client, clock, user, "2026-11-24T12:00:00Z", 30)
    mine = (await client.get(STATS, headers=user.headers)).json()["items"]
    teams = (await client.get(STATS, params={"team_id": str(team)}, headers=user.headers)).json()[
        "items"
    ]
    assert [(r["team_id"], r["total_focus_minutes"]) for r in mine] == [(None, 90)]
    assert [(r["team_id"], r["total_focus_minutes"]) for r in teams] == [(str(team), 60)]
