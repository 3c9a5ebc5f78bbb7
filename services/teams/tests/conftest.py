"""Fixtures of the teams tests: the service under test, known users, helpers to build teams,
and real HTTP servers run with uvicorn (the teams app itself, and a stand-in for identity's
public user view until identity's app can be started here)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from teams.app import create_app
from teams.users.models import KnownUser
from vc_common.testing.plugin import ReadOutbox, ServiceUnderTest, TestUser
from vc_common.testing.servers import ThreadServer

Outbox = ReadOutbox


def identity_stub(users: dict[uuid.UUID, str]) -> FastAPI:
    """Identity's public user view, ``GET /api/v1/users/{id}``, in its real shape: 200 with
    ``id, username, first_name, last_name, profile``; 404 problem+json for an unknown user;
    401 without a bearer token."""
    app = FastAPI()

    @app.get("/api/v1/users/{user_id}")
    async def get_user(user_id: uuid.UUID, request: Request) -> JSONResponse:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse(
                {
                    "type": "about:blank",
                    "title": "Unauthorized",
                    "status": 401,
                    "detail": "An access token is required.",
                },
                status_code=401,
                media_type="application/problem+json",
            )
        if user_id not in users:
            return JSONResponse(
                {
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "User not found.",
                },
                status_code=404,
                media_type="application/problem+json",
            )
        return JSONResponse(
            {
                "id": str(user_id),
                "username": users[user_id],
                "first_name": "",
                "last_name": "",
                "profile": {"avatar": None, "timezone": "UTC"},
            }
        )

    return app


@pytest.fixture(scope="session")
def identity_users() -> dict[uuid.UUID, str]:
    """Users the identity stand-in knows (tests add to it)."""
    return {}


@pytest.fixture(scope="session")
def identity_server(identity_users: dict[uuid.UUID, str]) -> Iterator[ThreadServer]:
    with ThreadServer(identity_stub(identity_users), "identity", lifespan="on") as server:
        yield server


@pytest.fixture(scope="session")
def vc_service(identity_server: ThreadServer) -> ServiceUnderTest:
    return ServiceUnderTest(name="teams", settings_env={"IDENTITY_URL": identity_server.url})


# ------------------------------------------------------------------------- helpers


@pytest.fixture
def known(db_connection: AsyncConnection) -> Callable[[TestUser], Awaitable[TestUser]]:
    """Record a user in ``known_users`` (as identity's registered event would)."""

    async def add(user: TestUser, *, is_active: bool = True) -> TestUser:
        await db_connection.execute(
            pg_insert(KnownUser)
            .values(id=user.id, username=user.username, is_active=is_active)
            .on_conflict_do_nothing()
        )
        return user

    return add


MakeTeam = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_team(
    client: httpx.AsyncClient, known: Callable[[TestUser], Awaitable[TestUser]]
) -> MakeTeam:
    """Create a team owned by ``owner`` with the given extra members ``{user: role}``."""

    async def make(
        owner: TestUser, members: list[tuple[TestUser, str]] | None = None, name: str = "Team"
    ) -> dict[str, Any]:
        resp = await client.post("/api/v1/teams", json={"name": name}, headers=owner.headers)
        assert resp.status_code == 201, resp.text
        team: dict[str, Any] = resp.json()
        for member, role in members or []:
            await known(member)
            r = await client.post(
                f"/api/v1/teams/{team['id']}/members",
                json={"user_id": str(member.id), "role": role},
                headers=owner.headers,
            )
            assert r.status_code == 201, r.text
        return team

    return make


@pytest_asyncio.fixture
async def teams_server(service_env: dict[str, str], signer: Any) -> AsyncIterator[ThreadServer]:
    """The real teams app served by uvicorn on a free port (real commits: use unique data)."""
    from vc_common.auth import StaticKeySource, TokenVerifier

    del service_env  # the app reads TEAMS_DATABASE_URL from it
    app = create_app()
    app.state.verifier = TokenVerifier(
        StaticKeySource(signer.jwks), issuer=signer.issuer, audience=signer.audience
    )
    server = ThreadServer(app, "teams", lifespan="on")
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
