"""Fixtures of the analytics tests: the service under test, a stand-in for the teams service's
internal membership route, and helpers that feed the service the events it consumes through its
real consumer (inbox included), each event checked against its contract when one exists."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from analytics.app import create_app
from analytics.consumers import consumer
from vc_common.events.contracts import validate_event
from vc_common.events.envelope import CloudEvent
from vc_common.membership import TeamsClient
from vc_common.testing.plugin import ServiceUnderTest, TestUser

ALEMBIC_INI = Path(__file__).parents[1] / "alembic.ini"
CONTRACTS = Path(__file__).parents[3] / "contracts" / "events"


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(name="analytics", app_factory=create_app, alembic_ini=ALEMBIC_INI)


class FakeTeams:
    """The teams service's internal route ``GET /internal/v1/teams/{team_id}/members/{user_id}``
    in its real shape (200 ``{team_id, user_id, role, seq}``; 404 when not a member)."""

    def __init__(self) -> None:
        self.members: dict[tuple[uuid.UUID, uuid.UUID], str] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        team_id, user_id = uuid.UUID(parts[3]), uuid.UUID(parts[5])
        role = self.members.get((team_id, user_id))
        if role is None:
            return httpx.Response(
                404,
                json={
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "Not a member.",
                },
            )
        return httpx.Response(
            200, json={"team_id": str(team_id), "user_id": str(user_id), "role": role, "seq": 1}
        )


@pytest_asyncio.fixture
async def fake_teams(app: Any) -> Any:
    teams = FakeTeams()
    client = httpx.AsyncClient(transport=httpx.MockTransport(teams.handler))
    app.state.teams_client = TeamsClient("http://teams.invalid", client=client)
    yield teams
    await client.aclose()


Deliver = Callable[..., Awaitable[bool]]


def make_event(
    type_: str,
    data: dict[str, Any],
    *,
    subject: str | uuid.UUID | None = None,
    time: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> CloudEvent:
    event = CloudEvent(
        source=type_.split(".", 1)[0],
        type=type_,
        subject=str(
            subject
            or data.get("task_id")
            or data.get("session_id")
            or data.get("user_id")
            or data.get("team_id")
        ),
        data=data,
        **({"time": time} if time else {}),
        **({"id": event_id} if event_id else {}),
    )
    if (CONTRACTS / f"{type_}.v1.json").exists():
        validate_event(event.to_dict())
    return event


@pytest.fixture
def deliver(app: Any) -> Callable[..., Awaitable[bool]]:
    """Hand an event (or the very same event again) to the consumer, as the bus would."""

    async def send(
        type_or_event: str | CloudEvent, data: dict[str, Any] | None = None, **kw: Any
    ) -> bool:
        event = (
            type_or_event
            if isinstance(type_or_event, CloudEvent)
            else make_event(type_or_event, data or {}, **kw)
        )
        return bool(await consumer.handle(app.state.db, event))

    return send


_seq = iter(range(1, 1_000_000))


@pytest.fixture
def add_member(deliver: Deliver) -> Callable[..., Awaitable[None]]:
    async def add(team_id: uuid.UUID, user: TestUser | uuid.UUID, role: str = "member") -> None:
        uid = user.id if isinstance(user, TestUser) else user
        await deliver(
            "teams.member.added",
            {
                "team_id": str(team_id),
                "user_id": str(uid),
                "member_id": str(uid),
                "role": role,
                "seq": next(_seq),
                "actor_id": str(uid),
                "joined_at": "2026-11-01T00:00:00Z",
            },
            subject=team_id,
        )

    return add


@pytest.fixture
def set_timezone(deliver: Deliver) -> Callable[..., Awaitable[None]]:
    async def set_tz(user_id: uuid.UUID, timezone: str) -> None:
        await deliver(
            "identity.user.updated",
            {
                "user_id": str(user_id),
                "username": f"u{user_id.hex[:6]}",
                "first_name": "",
                "last_name": "",
                "avatar": None,
                "timezone": timezone,
                "changed_fields": ["timezone"],
            },
        )

    return set_tz
