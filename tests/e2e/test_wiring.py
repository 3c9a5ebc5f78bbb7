"""End to end through the gateway: the contexts wired to each other. A user's Google Calendar
events (synced by integrations from the provider sandbox) appear in their calendar range query;
a meeting made in their connected Zoom account gets Zoom's join link (integrations calls the
sandbox's Zoom API with the user's tokens), and joining it answers that link."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import new_user
from tests.e2e.test_integrations import _connect

pytestmark = pytest.mark.e2e


async def _synced(api: httpx.AsyncClient, h: dict[str, str], integration_id: str) -> None:
    r = await api.post(f"/api/v1/integrations/{integration_id}/sync", json={}, headers=h)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 20
    while True:
        logs = (await api.get(f"/api/v1/integrations/{integration_id}/sync-logs", headers=h)).json()
        if logs["items"] and logs["items"][0]["status"] in ("completed", "failed"):
            assert logs["items"][0]["status"] == "completed", logs["items"][0]
            return
        assert time.monotonic() < deadline, logs
        await asyncio.sleep(0.3)


async def _eventually(check: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.3)


@pytest.mark.usefixtures("nats_only")
async def test_google_events_show_in_the_calendar_and_zoom_makes_the_meeting_link(
    api: httpx.AsyncClient,
) -> None:
    me = await new_user(api, "wired")
    h = me["headers"]
    google, sandbox = await _connect(api, h, "google_calendar")
    calendar = f"cal-{uuid.uuid4().hex[:8]}"  # this test's own calendar in the sandbox
    r = await api.patch(
        f"/api/v1/integrations/{google['id']}",
        json={"config": {"calendar_id": calendar}},
        headers=h,
    )
    assert r.status_code == 200, r.text
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    seeded = {
        "summary": "Dentist",
        "start": {"dateTime": start.isoformat().replace("+00:00", "Z")},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z")},
    }
    async with httpx.AsyncClient(base_url=sandbox, timeout=10) as sb:
        r = await sb.post(f"/_sandbox/google/calendars/{calendar}/events", json=[seeded])
        assert r.status_code == 200, r.text
        google_id = r.json()[0]["id"]
    await _synced(api, h, google["id"])

    window = {
        "from": start.date().isoformat(),
        "to": (start + timedelta(days=2)).date().isoformat(),
    }

    async def external() -> list[dict[str, Any]]:
        r = await api.get("/api/v1/calendar/events", params=window, headers=h)
        assert r.status_code == 200, r.text
        return [i for i in r.json()["items"] if i["kind"] == "external"]

    (item,) = await _eventually(external)
    assert (item["title"], item["source"], item["external_id"]) == (
        "Dentist",
        "google_calendar",
        google_id,
    )
    assert item["start_time"] == start.isoformat().replace("+00:00", "Z")
    # nobody else sees it
    other = await new_user(api, "unwired")
    r = await api.get("/api/v1/calendar/events", params=window, headers=other["headers"])
    assert [i for i in r.json()["items"] if i["kind"] == "external"] == []

    # Zoom: the meeting is made in the user's own account
    team = (await api.post("/api/v1/teams", json={"name": "Wired"}, headers=h)).json()
    body = {
        "title": "Planning",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=30)).isoformat(),
    }
    r = await api.post(
        f"/api/v1/teams/{team['id']}/meetings", json={**body, "provider": "zoom"}, headers=h
    )
    assert r.status_code == 422, r.text  # not connected yet: nothing made
    assert r.headers["content-type"].startswith("application/problem+json")
    listed = (await api.get(f"/api/v1/teams/{team['id']}/meetings", headers=h)).json()
    assert listed["items"] == []
    await _connect(api, h, "zoom")
    r = await api.post(
        f"/api/v1/teams/{team['id']}/meetings", json={**body, "provider": "zoom"}, headers=h
    )
    assert r.status_code == 201, r.text
    meeting = r.json()
    assert meeting["provider"] == "zoom"
    assert meeting["meeting_link"].startswith("https://zoom.us/j/")
    async with httpx.AsyncClient(base_url=sandbox, timeout=10) as sb:
        made = (await sb.get("/_sandbox/meetings")).json()
    assert any(m.get("join_url") == meeting["meeting_link"] for m in made)
    joined = await api.post(f"/api/v1/meetings/{meeting['id']}/join", headers=h)
    assert joined.status_code == 200, joined.text
    assert joined.json()["meeting_link"] == meeting["meeting_link"]
