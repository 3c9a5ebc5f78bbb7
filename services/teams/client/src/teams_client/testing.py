"""For other services' tests (pytest plugin ``teams_client``): teams as a real HTTP server.

``fake_teams`` starts, once per test session, a small HTTP server on loopback that answers
teams' internal route exactly as teams does (``GET /internal/v1/teams/{team_id}/members/
{user_id}``: 200 ``{team_id, user_id, role, seq, joined_at}``, a problem+json 404 for a
non-member, 401 without a bearer token) and points ``TEAMS_URL`` at it, so the service's real
:class:`~teams_client.client.TeamsClient` does the membership read-through over real HTTP.

``make_team()`` / ``team``: a team with an owner, an admin, two members and an outsider, known to
the fake server (the projection then learns them by read-through, as in production).
``member_added(team_id, user, role)``: the ``teams.member.added`` event teams would publish, for
``deliver``.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from vc_common.testing.plugin import TestUser, make_event
from vc_common.testing.servers import ThreadServer, standing_in

from teams_client import events
from teams_client.client import INTERNAL_MEMBER_PATH

_PATH = re.compile(r"^/internal/v1/teams/([0-9a-fA-F-]{36})/members/([0-9a-fA-F-]{36})$")
assert INTERNAL_MEMBER_PATH.count("{") == 2


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


class FakeTeams:
    """Teams' internal membership route on a real socket; ``add``/``remove`` change its answer."""

    def __init__(self) -> None:
        self.members: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        self.calls = 0
        self.failing = False
        self._seq: dict[uuid.UUID, int] = {}  # per team, as teams numbers membership changes
        self._server = ThreadServer(
            Starlette(routes=[Route("/{path:path}", self._answer)]), "fake-teams"
        )
        self.port, self.url = self._server.port, self._server.url

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def add(self, team_id: uuid.UUID, user_id: uuid.UUID, role: str = "member") -> int:
        seq = self._seq[team_id] = self._seq.get(team_id, 0) + 1
        self.members[(team_id, user_id)] = role
        return seq

    def remove(self, team_id: uuid.UUID, user_id: uuid.UUID) -> int:
        self.members.pop((team_id, user_id), None)
        seq = self._seq[team_id] = self._seq.get(team_id, 0) + 1
        return seq

    async def _answer(self, request: Request) -> JSONResponse:
        self.calls += 1
        if self.failing:
            return _problem(503, "Service Unavailable", "teams is down (test)")
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _problem(401, "Unauthorized", "An access token is required.")
        m = _PATH.match(request.url.path)
        if m is None or request.method != "GET":
            return _problem(404, "Not Found", "No such route.")
        team_id, user_id = uuid.UUID(m[1]), uuid.UUID(m[2])
        role = self.members.get((team_id, user_id))
        if role is None:
            return _problem(404, "Not Found", "Team not found.")
        seq = self._seq[team_id]  # the team's membership sequence this answer reflects
        return JSONResponse(
            {
                "team_id": str(team_id),
                "user_id": str(user_id),
                "role": role,
                "seq": seq,
                "joined_at": datetime.now(UTC).isoformat(),
            }
        )


@pytest.fixture(scope="session")
def fake_teams() -> Iterator[FakeTeams]:
    with standing_in(FakeTeams(), "TEAMS_URL") as server:
        yield server


@dataclass
class Team:
    id: uuid.UUID
    owner: TestUser
    admin: TestUser
    member: TestUser
    other: TestUser  # a second plain member
    outsider: TestUser

    @property
    def members(self) -> list[TestUser]:
        return [self.owner, self.admin, self.member, self.other]


@pytest.fixture
def make_team(fake_teams: FakeTeams, make_user: Callable[..., TestUser]) -> Callable[[], Team]:
    def make() -> Team:
        team = Team(uuid.uuid4(), make_user(), make_user(), make_user(), make_user(), make_user())
        fake_teams.add(team.id, team.owner.id, "owner")
        fake_teams.add(team.id, team.admin.id, "admin")
        fake_teams.add(team.id, team.member.id, "member")
        fake_teams.add(team.id, team.other.id, "member")
        return team

    return make


@pytest.fixture
def team(make_team: Callable[[], Team]) -> Team:
    return make_team()


_event_seq = itertools.count(1_000_000)


def member_added(
    team_id: uuid.UUID, user: TestUser | uuid.UUID, role: str = "member", *, seq: int | None = None
) -> Any:
    """The ``teams.member.added`` event teams publishes (validated against its contract)."""
    uid = user.id if isinstance(user, TestUser) else user
    return make_event(
        events.MEMBER_ADDED,
        {
            "team_id": str(team_id),
            "user_id": str(uid),
            "actor_id": str(uid),
            "member_id": str(uid),
            "role": role,
            "seq": seq if seq is not None else next(_event_seq),
            "joined_at": "2026-11-01T00:00:00.000000Z",
        },
        subject=team_id,
    )


def member_removed(
    team_id: uuid.UUID, user: TestUser | uuid.UUID, *, seq: int | None = None
) -> Any:
    uid = user.id if isinstance(user, TestUser) else user
    return make_event(
        events.MEMBER_REMOVED,
        {
            "team_id": str(team_id),
            "user_id": str(uid),
            "actor_id": str(uid),
            "member_id": str(uid),
            "role": "member",
            "seq": seq if seq is not None else next(_event_seq),
            "reason": "removed",
        },
        subject=team_id,
    )
