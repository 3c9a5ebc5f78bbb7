"""Each counter, from the events that feed it, read through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from vc_common.ids import uuid7
from vc_common.testing.plugin import TestUser

from .conftest import Deliver
from .events import (
    focus_ended,
    meeting_ended,
    message_posted,
    participant_joined,
    task_completed,
    task_reopened,
)

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def team_days(
    client: httpx.AsyncClient, user: TestUser, team_id: uuid.UUID, start: str, end: str
) -> dict[str, dict[str, Any]]:
    r = await client.get(
        f"/api/v1/teams/{team_id}/analytics",
        params={"from": start, "to": end},
        headers=user.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    return {row["date"]: row for row in body["items"]}


async def my_days(
    client: httpx.AsyncClient, user: TestUser, start: str, end: str
) -> dict[str, dict[str, Any]]:
    r = await client.get(
        "/api/v1/users/me/analytics", params={"from": start, "to": end}, headers=user.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return {row["date"]: row for row in r.json()["items"]}


async def test_every_day_of_the_range_with_zeros(
    client: httpx.AsyncClient, user: TestUser, add_member: Any
) -> None:
    team = uuid7()
    await add_member(team, user)
    days = await team_days(client, user, team, "2026-11-20", "2026-11-26")
    assert list(days) == [f"2026-11-{d}" for d in range(20, 27)]
    assert days["2026-11-22"] == {
        "date": "2026-11-22",
        "active_members": 0,
        "completed_tasks": 0,
        "total_focus_minutes": 0,
        "meetings_count": 0,
        "storage_bytes": 0,
    }
    mine = await my_days(client, user, "2026-11-24", "2026-11-24")
    assert mine == {
        "2026-11-24": {
            "date": "2026-11-24",
            "completed_tasks": 0,
            "focus_minutes": 0,
            "meetings_attended": 0,
        }
    }


async def test_completed_tasks_for_team_and_assignee(
    client: httpx.AsyncClient, make_user: Any, add_member: Any, deliver: Deliver
) -> None:
    actor, assignee = make_user(), make_user()
    team = uuid7()
    await add_member(team, actor)
    await deliver("tasks.task.completed", task_completed(team, actor.id, T0, assignee=assignee.id))
    await deliver("tasks.task.completed", task_completed(team, actor.id, T0))
    days = await team_days(client, actor, team, "2026-11-24", "2026-11-24")
    assert days["2026-11-24"]["completed_tasks"] == 2
    assert days["2026-11-24"]["active_members"] == 1
    assert (await my_days(client, assignee, "2026-11-24", "2026-11-24"))["2026-11-24"][
        "completed_tasks"
    ] == 1
    assert (await my_days(client, actor, "2026-11-24", "2026-11-24"))["2026-11-24"][
        "completed_tasks"
    ] == 1


async def test_the_same_event_twice_changes_nothing(
    client: httpx.AsyncClient, user: TestUser, add_member: Any, deliver: Deliver
) -> None:
    from .conftest import make_event

    team = uuid7()
    await add_member(team, user)
    event = make_event("tasks.task.completed", task_completed(team, user.id, T0))
    focus = make_event(
        "focus.session.ended", focus_ended(user.id, T0, 25, {"2026-11-24": 25}, team_id=team)
    )
    assert await deliver(event) is True
    assert await deliver(focus) is True
    assert await deliver(event) is False
    assert await deliver(focus) is False
    days = await team_days(client, user, team, "2026-11-24", "2026-11-24")
    assert days["2026-11-24"]["completed_tasks"] == 1
    assert days["2026-11-24"]["total_focus_minutes"] == 25
    mine = await my_days(client, user, "2026-11-24", "2026-11-24")
    assert mine["2026-11-24"]["completed_tasks"] == 1
    assert mine["2026-11-24"]["focus_minutes"] == 25


async def test_reopened_then_completed_again_counts_again(
    client: httpx.AsyncClient, user: TestUser, add_member: Any, deliver: Deliver
) -> None:
    team, task = uuid7(), uuid7()
    await add_member(team, user)
    first = T0.replace(hour=9)
    await deliver("tasks.task.completed", task_completed(team, user.id, first, task_id=task))
    await deliver(
        "tasks.task.reopened", task_reopened(team, user.id, T0.replace(hour=10), task, first)
    )
    await deliver(
        "tasks.task.completed", task_completed(team, user.id, T0.replace(hour=11), task_id=task)
    )
    days = await team_days(client, user, team, "2026-11-24", "2026-11-24")
    assert days["2026-11-24"]["completed_tasks"] == 2
    assert (await my_days(client, user, "2026-11-24", "2026-11-24"))["2026-11-24"][
        "completed_tasks"
    ] == 2


async def test_late_and_out_of_order_events_count_on_their_own_day(
    client: httpx.AsyncClient, user: TestUser, add_member: Any, deliver: Deliver
) -> None:
    team = uuid7()
    await add_member(team, user)
    await deliver("tasks.task.completed", task_completed(team, user.id, T0))
    # delivered later, happened days earlier: the data's time wins over the envelope's
    await deliver(
        "tasks.task.completed",
        task_completed(team, user.id, datetime(2026, 11, 20, 8, tzinfo=UTC)),
        time=T0,
    )
    await deliver(
        "chat.message.posted", message_posted(team, user.id, datetime(2026, 11, 21, 8, tzinfo=UTC))
    )
    days = await team_days(client, user, team, "2026-11-19", "2026-11-24")
    assert [d["completed_tasks"] for d in days.values()] == [0, 1, 0, 0, 0, 1]
    assert [d["active_members"] for d in days.values()] == [0, 1, 1, 0, 0, 1]
    # an event without a time of its own counts on the envelope's `time`
    await deliver(
        "tasks.task.moved",
        {
            "task_id": str(uuid7()),
            "board_id": str(uuid7()),
            "team_id": str(team),
            "column_id": str(uuid7()),
            "title": "t",
            "assignee_id": None,
            "priority": "low",
            "due_date": None,
            "user_id": str(user.id),
            "from_column_id": str(uuid7()),
            "to_column_id": str(uuid7()),
            "from_position": 0,
            "position": 0,
            "is_completed": False,
        },
        time=datetime(2026, 11, 19, 23, 59, tzinfo=UTC),
    )
    days = await team_days(client, user, team, "2026-11-19", "2026-11-19")
    assert days["2026-11-19"]["active_members"] == 1


async def test_active_members_are_distinct_users_of_the_day(
    client: httpx.AsyncClient, make_user: Any, add_member: Any, deliver: Deliver
) -> None:
    a, b, outsider_team_user = make_user(), make_user(), make_user()
    team, other = uuid7(), uuid7()
    await add_member(team, a)
    for hour in (8, 9, 10):
        await deliver("chat.message.posted", message_posted(team, a.id, T0.replace(hour=hour)))
    await deliver("tasks.task.completed", task_completed(team, b.id, T0))
    await deliver("chat.message.posted", message_posted(other, outsider_team_user.id, T0))
    await deliver(
        "focus.session.ended",
        focus_ended(b.id, T0.replace(day=25), 30, {"2026-11-25": 30}, team_id=team),
    )
    days = await team_days(client, a, team, "2026-11-24", "2026-11-25")
    assert days["2026-11-24"]["active_members"] == 2
    assert days["2026-11-25"]["active_members"] == 1


async def test_focus_minutes_user_by_minutes_by_day_team_by_utc_day(
    client: httpx.AsyncClient, user: TestUser, add_member: Any, deliver: Deliver
) -> None:
    team = uuid7()
    await add_member(team, user)
    # 23:30Z → 00:30Z: half an hour on each UTC day for the team; the user's own split is
    # whatever focus computed in their local zone (here Asia/Tokyo: all on the 25th)
    start = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    await deliver(
        "focus.session.ended",
        focus_ended(user.id, start, 60, {"2026-11-25": 60}, team_id=team, timezone="Asia/Tokyo"),
    )
    # a session for no team counts for the user only
    await deliver("focus.session.ended", focus_ended(user.id, T0, 25, {"2026-11-24": 25}))
    days = await team_days(client, user, team, "2026-11-24", "2026-11-25")
    assert days["2026-11-24"]["total_focus_minutes"] == 30
    assert days["2026-11-25"]["total_focus_minutes"] == 30
    mine = await my_days(client, user, "2026-11-24", "2026-11-25")
    assert mine["2026-11-24"]["focus_minutes"] == 25
    assert mine["2026-11-25"]["focus_minutes"] == 60


async def test_local_day_attribution_in_a_non_utc_timezone(
    client: httpx.AsyncClient, user: TestUser, add_member: Any, deliver: Deliver, set_timezone: Any
) -> None:
    team = uuid7()
    await add_member(team, user)
    await set_timezone(user.id, "America/Los_Angeles")
    # 03:00Z on the 24th is 19:00 on the 23rd in Los Angeles
    await deliver(
        "tasks.task.completed", task_completed(team, user.id, datetime(2026, 11, 24, 3, tzinfo=UTC))
    )
    mine = await my_days(client, user, "2026-11-23", "2026-11-24")
    assert mine["2026-11-23"]["completed_tasks"] == 1
    assert mine["2026-11-24"]["completed_tasks"] == 0
    days = await team_days(client, user, team, "2026-11-23", "2026-11-24")
    assert days["2026-11-23"]["completed_tasks"] == 0
    assert days["2026-11-24"]["completed_tasks"] == 1


async def test_unknown_timezone_is_utc(
    client: httpx.AsyncClient, user: TestUser, deliver: Deliver
) -> None:
    await deliver(
        "tasks.task.completed",
        task_completed(uuid7(), user.id, datetime(2026, 11, 24, 3, tzinfo=UTC)),
    )
    mine = await my_days(client, user, "2026-11-23", "2026-11-24")
    assert [d["completed_tasks"] for d in mine.values()] == [0, 1]


async def test_meetings_count_and_attendance_once_per_meeting(
    client: httpx.AsyncClient, make_user: Any, add_member: Any, deliver: Deliver
) -> None:
    host, guest = make_user(), make_user()
    team, meeting = uuid7(), uuid7()
    await add_member(team, host)
    await deliver(
        "meetings.participant.joined",
        participant_joined(team, meeting, guest.id, T0.replace(hour=9)),
    )
    # a rejoin after a dropped connection is not a second meeting
    await deliver(
        "meetings.participant.joined",
        participant_joined(team, meeting, guest.id, T0.replace(hour=9, minute=20)),
    )
    await deliver(
        "meetings.participant.joined",
        participant_joined(team, meeting, host.id, T0.replace(hour=9)),
    )
    await deliver(
        "meetings.meeting.ended", meeting_ended(team, meeting, host.id, T0.replace(hour=10))
    )
    days = await team_days(client, host, team, "2026-11-24", "2026-11-24")
    assert days["2026-11-24"]["meetings_count"] == 1
    assert days["2026-11-24"]["active_members"] == 2
    for u in (host, guest):
        assert (await my_days(client, u, "2026-11-24", "2026-11-24"))["2026-11-24"][
            "meetings_attended"
        ] == 1


async def test_new_users_and_teams_need_no_set_up(
    client: httpx.AsyncClient, user: TestUser, add_member: Any, deliver: Deliver
) -> None:
    team = uuid7()  # never seen before this event
    await deliver("tasks.task.completed", task_completed(team, user.id, T0))
    await add_member(team, user)
    assert (await team_days(client, user, team, "2026-11-24", "2026-11-24"))["2026-11-24"][
        "completed_tasks"
    ] == 1


async def test_a_batch_is_counted_once_even_when_replayed_without_the_inbox(
    app: Any, client: httpx.AsyncClient, user: TestUser, add_member: Any, db_connection: Any
) -> None:
    from analytics.consumers import consumer
    from sqlalchemy import text

    from .conftest import make_event

    team = uuid7()
    await add_member(team, user)
    done = make_event("tasks.task.completed", task_completed(team, user.id, T0))
    focus = make_event(
        "focus.session.ended", focus_ended(user.id, T0, 40, {"2026-11-24": 40}, team_id=team)
    )
    assert await consumer.handle_batch(app.state.db, [done, done, focus]) == [True, False, True]
    # the inbox forgotten (a replay without --reset): the raw log still refuses a second count
    await db_connection.execute(text("DELETE FROM inbox WHERE consumer = 'analytics'"))
    await consumer.handle_batch(app.state.db, [done, focus])
    days = await team_days(client, user, team, "2026-11-24", "2026-11-24")
    assert days["2026-11-24"]["completed_tasks"] == 1
    assert days["2026-11-24"]["total_focus_minutes"] == 40
    assert days["2026-11-24"]["active_members"] == 1
