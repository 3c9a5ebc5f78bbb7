"""Fixtures of the calendar tests, on top of the shared plugins (``vc_common``: ``client``,
``live_app``, ``clock``, ``deliver``, ``outbox``; ``teams_client``: ``fake_teams``, ``team``):
the reminder scheduler's background loop is off (tests run its ticks with ``run_job``), and
memberships and timezones reach the service as the events teams and identity publish."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from teams_client.testing import Team, member_added
from vc_common.testing.plugin import Deliver, ServiceUnderTest, TestUser


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(
        name="calendar", settings_env={"CALENDAR_REMINDER_INTERVAL_SECONDS": "0"}
    )


AddMember = Callable[..., Awaitable[None]]


@pytest.fixture
def add_member(deliver: Deliver) -> AddMember:
    async def add(team_id: uuid.UUID, user: TestUser | uuid.UUID, role: str = "member") -> None:
        await deliver(member_added(team_id, user, role))

    return add


@pytest.fixture
def joined(add_member: AddMember) -> Callable[[Team], Awaitable[Team]]:
    """The projection learns every member of the team (as teams' events would tell it)."""

    async def join(team: Team) -> Team:
        for user, role in (
            (team.owner, "owner"),
            (team.admin, "admin"),
            (team.member, "member"),
            (team.other, "member"),
        ):
            await add_member(team.id, user, role)
        return team

    return join


@pytest.fixture
def set_timezone(deliver: Deliver) -> Callable[..., Awaitable[None]]:
    async def set_tz(user: TestUser | uuid.UUID, timezone: str) -> None:
        uid = user.id if isinstance(user, TestUser) else user
        await deliver(
            "identity.user.updated",
            {
                "user_id": str(uid),
                "username": f"u{uid.hex[:6]}",
                "first_name": "",
                "last_name": "",
                "avatar": None,
                "timezone": timezone,
                "changed_fields": ["timezone"],
            },
        )

    return set_tz


Create = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def create(client: httpx.AsyncClient) -> Create:
    """POST an event as ``user``; asserts 201 and returns the body."""

    async def make(user: TestUser, **body: Any) -> dict[str, Any]:
        body.setdefault("title", "Event")
        r = await client.post("/api/v1/calendar/events", json=body, headers=user.headers)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    return make


Query = Callable[..., Awaitable[list[dict[str, Any]]]]


@pytest.fixture
def query(client: httpx.AsyncClient) -> Query:
    """``await query(user, from, to, **params)``: every item of a range query (all pages)."""

    async def run(user: TestUser, start: str, end: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        limit = params.pop("limit", 200)
        while True:
            q = {"from": start, "to": end, "limit": limit, **params}
            if cursor:
                q["cursor"] = cursor
            r = await client.get("/api/v1/calendar/events", params=q, headers=user.headers)
            assert r.status_code == 200, r.text
            body = r.json()
            out.extend(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                return out

    return run


# what meetings.meeting.scheduled carries besides what the calendar reads (its schema requires it)
MEETING_FIELDS = {
    "description": "",
    "status": "scheduled",
    "provider": "jitsi",
    "meeting_link": "https://meet.jit.si/vc-room",
    "recording_url": None,
    "started_at": None,
    "ended_at": None,
}
