"""Fixtures of the focus tests: the service under test, a clock the tests move, a stand-in for
the teams service's internal membership route, and helpers that feed the service the events it
consumes (identity's timezones, teams' memberships) through its real consumer."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from focus.app import create_app
from focus.consumers import consumer
from focus.models import event_tables
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.events.contracts import validate_event
from vc_common.events.envelope import CloudEvent
from vc_common.membership import TeamsClient
from vc_common.testing.plugin import ServiceUnderTest, TestUser

ALEMBIC_INI = Path(__file__).parents[1] / "alembic.ini"


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(name="focus", app_factory=create_app, alembic_ini=ALEMBIC_INI)


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def set(self, instant: datetime | str) -> datetime:
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant.replace("Z", "+00:00"))
        assert instant.tzinfo is not None
        self.now = instant
        return instant

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(app: Any) -> FakeClock:
    c = FakeClock()
    app.state.clock = c
    return c


class FakeTeams:
    """The teams service's internal route ``GET /internal/v1/teams/{team_id}/members/{user_id}``
    in its real shape (200 ``{team_id, user_id, role, seq}``; 404 when not a member), for the
    projection's read-through on a miss."""

    def __init__(self) -> None:
        self.members: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        self.calls = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
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


@pytest.fixture
def deliver(app: Any) -> Deliver:
    """Hand an event to the service's consumer, as the bus would (inbox included)."""

    async def send(
        type_: str,
        data: dict[str, Any],
        *,
        subject: str | uuid.UUID | None = None,
        time: datetime | None = None,
        source: str | None = None,
    ) -> bool:
        event = CloudEvent(
            source=source or type_.split(".", 1)[0],
            type=type_,
            subject=str(subject or data.get("user_id") or data.get("team_id")),
            data=data,
            **({"time": time} if time else {}),
        )
        return await consumer.handle(app.state.db, event)

    return send


_seq = iter(range(1, 1_000_000))


@pytest.fixture
def add_member(deliver: Deliver) -> Callable[..., Awaitable[None]]:
    """Make a user a member of a team through ``teams.member.added`` (the real projection)."""

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
    """Tell the service a user's profile timezone, as identity does."""

    async def set_tz(user: TestUser, timezone: str | None, *, registered: bool = False) -> None:
        type_ = "identity.user.registered" if registered else "identity.user.updated"
        await deliver(
            type_,
            {
                "user_id": str(user.id),
                "username": user.username,
                "first_name": "",
                "last_name": "",
                "avatar": None,
                "timezone": timezone,
                "changed_fields": ["timezone"],
            },
        )

    return set_tz


@pytest.fixture
def outbox(db_connection: AsyncConnection) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    """The events written so far (optionally of one type), each checked against its contract."""

    async def rows(type_: str | None = None) -> list[dict[str, Any]]:
        t = event_tables.outbox
        stmt = select(t.c.payload).order_by(t.c.seq)
        if type_ is not None:
            stmt = stmt.where(t.c.type == type_)
        payloads = [r[0] for r in (await db_connection.execute(stmt)).all()]
        for p in payloads:
            validate_event(p)
        return payloads

    return rows
