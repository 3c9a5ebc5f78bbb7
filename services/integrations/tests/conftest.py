"""Fixtures of the integrations tests: real HTTP servers on loopback for every third party.

- ``sandbox``: tools/provider-sandbox (the six providers' OAuth and APIs), once per session;
  every provider base URL of the service points at it.
- ``tasks_api``: a stand-in for the two services the GitHub and Notion syncs call: identity's
  internal token exchange (``POST /internal/v1/token-exchange``, HTTP Basic with the service
  credential) and the tasks public routes they use (``GET /api/v1/boards/{id}``, ``POST
  /api/v1/columns/{id}/tasks``, ``PATCH /api/v1/tasks/{id}``, ``POST /api/v1/tasks/{id}/move``),
  which accept only tokens the exchange issued, as the user they name.
- ``connect(user, type)``: the whole OAuth flow as a browser does it: ``POST /connect``, open
  the authorization URL at the sandbox (approved), follow the redirect to our callback.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from provider_sandbox.app import State, create_app, integrations_env
from vc_common.testing.plugin import ServiceUnderTest, TestUser
from vc_common.testing.servers import ThreadServer

SERVICE_SECRET = "test-service-secret"
WEBHOOK_SECRET = "test-webhook-secret"


@dataclass
class Sandbox:
    url: str
    state: State

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    state = State()
    with ThreadServer(create_app(state), "provider-sandbox") as server:
        yield Sandbox(server.url, state)


# ------------------------------------------------------------------ identity + tasks stand-in


@dataclass
class Board:
    id: uuid.UUID
    team_id: uuid.UUID
    columns: list[dict[str, Any]]
    tasks: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)


@dataclass
class TasksStub:
    url: str = ""
    tokens: dict[str, uuid.UUID] = field(default_factory=dict)
    boards: dict[uuid.UUID, Board] = field(default_factory=dict)
    members: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)  # (board, user)
    exchanges: int = 0
    idempotency: dict[str, dict[str, Any]] = field(default_factory=dict)

    def board(self, user_id: uuid.UUID) -> Board:
        bid = uuid.uuid4()
        cols = [
            {"id": str(uuid.uuid4()), "name": "To do", "order": 0, "is_done": False},
            {"id": str(uuid.uuid4()), "name": "In progress", "order": 1, "is_done": False},
            {"id": str(uuid.uuid4()), "name": "Done", "order": 2, "is_done": True},
        ]
        b = Board(bid, uuid.uuid4(), cols)
        self.boards[bid] = b
        self.members.add((bid, user_id))
        return b

    def task(self, task_id: uuid.UUID) -> tuple[Board, dict[str, Any]]:
        for b in self.boards.values():
            if task_id in b.tasks:
                return b, b.tasks[task_id]
        raise KeyError(task_id)

    def column_name(self, b: Board, column_id: str) -> str:
        return str(next(c["name"] for c in b.columns if c["id"] == column_id))


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": "Error", "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def tasks_stub_app(stub: TasksStub) -> FastAPI:
    app = FastAPI()

    @app.post("/internal/v1/token-exchange")
    async def exchange(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        raw = base64.b64decode(header[6:]).decode() if header.startswith("Basic ") else ""
        if raw != f"integrations:{SERVICE_SECRET}":
            return _problem(401, "bad service credential")
        subject = uuid.UUID((await request.json())["subject"])
        token = f"exchanged-{secrets.token_urlsafe(12)}"
        stub.tokens[token] = subject
        stub.exchanges += 1
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 300,
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            }
        )

    def who(request: Request) -> uuid.UUID | None:
        return stub.tokens.get(request.headers.get("authorization", "")[7:])

    def board_of_column(column_id: str) -> Board | None:
        for b in stub.boards.values():
            if any(c["id"] == column_id for c in b.columns):
                return b
        return None

    def task_read(b: Board, t: dict[str, Any]) -> dict[str, Any]:
        return {**t, "board_id": str(b.id), "team_id": str(b.team_id)}

    @app.get("/api/v1/boards/{board_id}")
    async def board(board_id: uuid.UUID, request: Request) -> JSONResponse:
        user = who(request)
        if user is None:
            return _problem(401, "no token")
        b = stub.boards.get(board_id)
        if b is None or (board_id, user) not in stub.members:
            return _problem(404, "Board not found.")
        cols = [
            {**c, "tasks": [task_read(b, t) for t in b.tasks.values() if t["column_id"] == c["id"]]}
            for c in b.columns
        ]
        return JSONResponse({"id": str(b.id), "team_id": str(b.team_id), "columns": cols})

    @app.post("/api/v1/columns/{column_id}/tasks", status_code=201)
    async def create_task(column_id: str, request: Request) -> JSONResponse:
        user = who(request)
        b = board_of_column(column_id)
        if user is None or b is None or (b.id, user) not in stub.members:
            return _problem(404, "Column not found.")
        key = request.headers.get("idempotency-key")
        if key and key in stub.idempotency:
            return JSONResponse(stub.idempotency[key], status_code=201)
        body = await request.json()
        t = {
            "id": str(uuid.uuid4()),
            "title": body["title"],
            "description": body.get("description", ""),
            "column_id": column_id,
            "created_by": str(user),
        }
        b.tasks[uuid.UUID(t["id"])] = t
        out = task_read(b, t)
        if key:
            stub.idempotency[key] = out
        return JSONResponse(out, status_code=201)

    @app.patch("/api/v1/tasks/{task_id}")
    async def update_task(task_id: uuid.UUID, request: Request) -> JSONResponse:
        if who(request) is None:
            return _problem(401, "no token")
        b, t = stub.task(task_id)
        t.update(await request.json())
        return JSONResponse(task_read(b, t))

    @app.post("/api/v1/tasks/{task_id}/move")
    async def move_task(task_id: uuid.UUID, request: Request) -> JSONResponse:
        if who(request) is None:
            return _problem(401, "no token")
        b, t = stub.task(task_id)
        t["column_id"] = (await request.json())["column_id"]
        return JSONResponse(task_read(b, t))

    return app


@pytest.fixture(scope="session")
def tasks_api() -> Iterator[TasksStub]:
    stub = TasksStub()
    with ThreadServer(tasks_stub_app(stub), "tasks") as server:
        stub.url = server.url
        yield stub


@pytest.fixture(scope="session")
def vc_service(sandbox: Sandbox, tasks_api: TasksStub) -> ServiceUnderTest:
    return ServiceUnderTest(
        name="integrations",
        settings_env={
            **integrations_env(sandbox.url),
            "TASKS_URL": tasks_api.url,
            "IDENTITY_URL": tasks_api.url,
            "SERVICE_CLIENT_SECRET": SERVICE_SECRET,
            "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PUBLIC_URL": "http://gateway.test",
            "PROVIDER_TIMEOUT": "3",
            "JOBS_ENABLED": "false",
        },
    )


# ------------------------------------------------------------------ the OAuth dance

Connect = Callable[..., Awaitable[dict[str, Any]]]


async def approve(authorization_url: str) -> dict[str, str]:
    """What a browser does at the provider: open the authorize page, approve, and read the
    redirect back (``code`` and ``state`` in the query)."""
    async with httpx.AsyncClient(timeout=10) as http:
        page = await http.get(authorization_url)
        assert page.status_code == 200, page.text
        assert "Approve" in page.text
        query = dict(parse_qs(urlsplit(authorization_url).query))
        form = {k: v[0] for k, v in query.items()}
        resp = await http.post(
            authorization_url.split("?")[0], data={**form, "decision": "approve"}
        )
    assert resp.status_code == 302, resp.text
    back = urlsplit(resp.headers["location"])
    return {k: v[0] for k, v in parse_qs(back.query).items()}


async def oauth_connect(
    client: httpx.AsyncClient,
    user: TestUser,
    integration_type: str,
    *,
    with_bearer: bool = True,
) -> dict[str, Any]:
    """Connect ``integration_type`` for ``user`` through ``client`` (the whole flow)."""
    r = await client.post(
        f"/api/v1/integrations/{integration_type}/connect", json={}, headers=user.headers
    )
    assert r.status_code == 200, r.text
    params = await approve(r.json()["authorization_url"])
    cb = await client.get(
        f"/api/v1/integrations/{integration_type}/callback",
        params=params,
        headers=user.headers if with_bearer else {},
    )
    assert cb.status_code == 200, cb.text
    body: dict[str, Any] = cb.json()
    return body


@pytest.fixture
def connect(client: httpx.AsyncClient) -> Connect:
    async def run(
        user: TestUser, integration_type: str, *, with_bearer: bool = True
    ) -> dict[str, Any]:
        return await oauth_connect(client, user, integration_type, with_bearer=with_bearer)

    return run


@pytest_asyncio.fixture
async def sandbox_http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox.http() as http:
        yield http


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        got = await check()
        if got:
            return got
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within}s")
        await asyncio.sleep(0.05)
