"""Fixtures of the tasks tests: the service under test with a stand-in for the teams service's
internal membership route (``GET /internal/v1/teams/{team_id}/members/{user_id}``, answered in its
real shape), so the membership read-through runs for real; and helpers to build teams and boards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from tasks.app import create_app
from tasks.models import event_tables
from vc_common.events.contracts import validate_event
from vc_common.membership import TeamsClient
from vc_common.testing.plugin import ServiceUnderTest, TestUser

ALEMBIC_INI = Path(__file__).parents[1] / "alembic.ini"
_PATH = re.compile(r"^/internal/v1/teams/([0-9a-f-]{36})/members/([0-9a-f-]{36})$")


class FakeTeams:
    """The teams service as the membership read-through sees it."""

    def __init__(self) -> None:
        self.members: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        self.calls = 0

    def add(self, team_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
        self.members[(team_id, user_id)] = role

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return httpx.Response(401, json={"title": "Unauthorized", "status": 401})
        m = _PATH.match(request.url.path)
        if m is None:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        team_id, user_id = uuid.UUID(m[1]), uuid.UUID(m[2])
        role = self.members.get((team_id, user_id))
        if role is None:
            return httpx.Response(
                404, json={"title": "Not Found", "status": 404, "detail": "Team not found."}
            )
        return httpx.Response(
            200, json={"team_id": str(team_id), "user_id": str(user_id), "role": role, "seq": 1}
        )


FAKE_TEAMS = FakeTeams()


def make_app() -> Any:
    app = create_app()
    app.state.teams_client = TeamsClient(
        "http://teams.test",
        client=httpx.AsyncClient(transport=httpx.MockTransport(FAKE_TEAMS.handler)),
    )
    return app


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(name="tasks", app_factory=make_app, alembic_ini=ALEMBIC_INI)


@dataclass
class Team:
    id: uuid.UUID
    owner: TestUser
    admin: TestUser
    member: TestUser
    other: TestUser  # a second plain member
    outsider: TestUser


@pytest.fixture
def fake_teams() -> FakeTeams:
    return FAKE_TEAMS


@pytest.fixture
def make_team(make_user: Callable[..., TestUser]) -> Callable[[], Team]:
    def make() -> Team:
        team = Team(uuid.uuid4(), make_user(), make_user(), make_user(), make_user(), make_user())
        FAKE_TEAMS.add(team.id, team.owner.id, "owner")
        FAKE_TEAMS.add(team.id, team.admin.id, "admin")
        FAKE_TEAMS.add(team.id, team.member.id, "member")
        FAKE_TEAMS.add(team.id, team.other.id, "member")
        return team

    return make


@pytest.fixture
def team(make_team: Callable[[], Team]) -> Team:
    return make_team()


async def create_board(
    client: httpx.AsyncClient, team: Team, name: str = "Sprint"
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/teams/{team.id}/boards", json={"name": name}, headers=team.admin.headers
    )
    assert r.status_code == 201, r.text
    board = await client.get(f"/api/v1/boards/{r.json()['id']}", headers=team.member.headers)
    assert board.status_code == 200, board.text
    body: dict[str, Any] = board.json()
    return body


async def create_task(
    client: httpx.AsyncClient, column_id: str, user: TestUser, **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/columns/{column_id}/tasks",
        json={"title": "A task", **fields},
        headers=user.headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def outbox(
    conn: AsyncConnection, type_: str | None = None, subject: str | None = None
) -> list[dict[str, Any]]:
    """The events written so far (oldest first), each validated against its contract."""
    t = event_tables.outbox
    stmt = select(t.c.payload).order_by(t.c.seq)
    if type_ is not None:
        stmt = stmt.where(t.c.type == type_)
    if subject is not None:
        stmt = stmt.where(t.c.subject == subject)
    rows = [dict(r[0]) for r in (await conn.execute(stmt)).all()]
    for payload in rows:
        validate_event(payload)
    return rows


@pytest_asyncio.fixture
async def board(client: httpx.AsyncClient, team: Team) -> AsyncIterator[dict[str, Any]]:
    yield await create_board(client, team)
