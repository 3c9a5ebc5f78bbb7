"""End to end through the gateway: the calendar's main flow on the real platform (`make run`'s
runner, NATS). A user in Berlin and a teammate; a weekly team meeting across the DST change; a
task's due date arriving as a deadline from the tasks service's events; a reminder fired by the
scheduler; the secret ICS feed read without a bearer token and parsed back."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar
import pytest

from tests.e2e.conftest import RUN_DIRS, new_user

pytestmark = pytest.mark.e2e


async def _eventually(check: Callable[[], Awaitable[Any]], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within}s")
        await asyncio.sleep(0.3)


@pytest.mark.usefixtures("nats_only")
async def test_a_calendar_through_the_gateway(api: httpx.AsyncClient, platform: str) -> None:
    alice, bob = await new_user(api, "cal_alice"), await new_user(api, "cal_bob")
    r = await api.patch(
        "/api/v1/users/me",
        json={"profile": {"timezone": "Europe/Berlin"}},
        headers=alice["headers"],
    )
    assert r.status_code == 200, r.text
    team = (await api.post("/api/v1/teams", json={"name": "Cal"}, headers=alice["headers"])).json()
    r = await api.post(
        f"/api/v1/teams/{team['id']}/members",
        json={"user_id": bob["id"], "role": "member"},
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text

    # a weekly meeting at 09:00 Berlin, across the 2027 DST change
    r = await api.post(
        "/api/v1/calendar/events",
        json={
            "title": "Weekly",
            "team_id": team["id"],
            "event_type": "meeting",
            "start_time": "2027-03-22T08:00:00Z",
            "end_time": "2027-03-22T08:30:00Z",
            "timezone": "Europe/Berlin",
            "recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
            "attendee_ids": [bob["id"]],
        },
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text
    weekly = r.json()
    r = await api.post(
        "/api/v1/calendar/events",
        json={
            "title": "Leak",
            "team_id": team["id"],
            "start_time": "2027-03-22T08:00:00Z",
            "end_time": "2027-03-22T08:30:00Z",
            "attendee_ids": [str(uuid.uuid4())],
        },
        headers=alice["headers"],
    )
    assert r.status_code == 422

    # a task with a due date: the calendar learns it from the tasks service's events
    board = (
        await api.post(
            f"/api/v1/teams/{team['id']}/boards", json={"name": "B"}, headers=alice["headers"]
        )
    ).json()
    full = (await api.get(f"/api/v1/boards/{board['id']}", headers=alice["headers"])).json()
    r = await api.post(
        f"/api/v1/columns/{full['columns'][0]['id']}/tasks",
        json={"title": "Report", "due_date": "2027-03-24"},
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text
    task = r.json()

    async def bobs_month() -> list[dict[str, Any]] | None:
        r = await api.get(
            "/api/v1/calendar/events",
            params={"from": "2027-03-01T00:00:00Z", "to": "2027-05-01T00:00:00Z"},
            headers=bob["headers"],
        )
        assert r.status_code == 200, r.text
        got: list[dict[str, Any]] = r.json()["items"]
        return got if any(i["event_type"] == "deadline" for i in got) else None

    items = await _eventually(bobs_month)
    assert [(i["title"], i["start_time"]) for i in items] == [
        ("Weekly", "2027-03-22T08:00:00Z"),
        ("Report", "2027-03-24T00:00:00Z"),  # bob's local day (UTC)
        ("Weekly", "2027-03-29T07:00:00Z"),  # still 09:00 in Berlin
        ("Weekly", "2027-04-05T07:00:00Z"),
        ("Weekly", "2027-04-12T07:00:00Z"),
    ]
    assert items[1]["task_id"] == task["id"]

    # alice's dates are Berlin's midnights (identity told the calendar her timezone)
    async def alices_day() -> list[dict[str, Any]] | None:
        r = await api.get(
            "/api/v1/calendar/events",
            params={"from": "2027-03-24", "to": "2027-03-25"},
            headers=alice["headers"],
        )
        got: list[dict[str, Any]] = r.json()["items"]
        return got if got and got[0]["start_time"] == "2027-03-23T23:00:00Z" else None

    await _eventually(alices_day)

    # a reminder whose moment is already there fires on the scheduler's next tick
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    r = await api.post(
        "/api/v1/calendar/events",
        json={
            "title": "Soon",
            "team_id": team["id"],
            "start_time": soon.isoformat().replace("+00:00", "Z"),
            "end_time": (soon + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
            "attendee_ids": [bob["id"]],
        },
        headers=alice["headers"],
    )
    soon_ev = r.json()
    r = await api.post(
        f"/api/v1/calendar/events/{soon_ev['id']}/reminders",
        json={"minutes_before": 15, "reminder_type": "both"},
        headers=alice["headers"],
    )
    assert r.status_code == 201, r.text

    async def fired() -> bool:
        r = await api.get(
            f"/api/v1/calendar/events/{soon_ev['id']}/reminders", headers=bob["headers"]
        )
        return bool(r.json()["items"][0]["sent"])

    await _eventually(fired)

    # reminder_type both: the reminder also reaches bob's mailbox (notifications' mail job, the
    # SMTP sink of make run), not only his inbox
    async def mailed() -> bool:
        for path in RUN_DIRS[platform].glob("mail/*.eml"):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if msg["To"] == f"{bob['username']}@example.com" and "Soon" in str(msg["Subject"]):
                return True
        return False

    await _eventually(mailed, within=30.0)

    # the secret feed, without a bearer token, through the gateway
    r = await api.post("/api/v1/calendar/feed-token", headers=alice["headers"])
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    r = await api.get("/api/v1/calendar/feed.ics", params={"token": token})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(r.content)
    by_uid = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert by_uid[f"{weekly['id']}@virtualcoworking"]["dtstart"].params["TZID"] == "Europe/Berlin"
    assert f"task-{task['id']}@virtualcoworking" in by_uid
    r = await api.get(f"/api/v1/calendar/events/{weekly['id']}.ics", headers=bob["headers"])
    assert r.status_code == 200
    assert (await api.get("/api/v1/calendar/feed.ics", params={"token": "x"})).status_code == 404
    assert (await api.get("/api/v1/calendar/events", params={"token": token})).status_code == 401
