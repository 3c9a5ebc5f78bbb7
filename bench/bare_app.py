"""The anchor of the service read benches: a bare FastAPI + asyncpg app (not the product).

The least code that does the same work as the service's route, on the same database: verify the
bearer token (Ed25519, identity's JWKS, PyJWT, expiry checked) on every request, run the same
statements with asyncpg on one pooled connection, answer JSON (orjson). No session layer, no
ORM, no pydantic response model, no middleware.

- ``GET /api/v1/users/me`` (on identity's database): the user and the profile, one query;
- ``GET /api/v1/tasks/{id}`` (on tasks' database): the task with its position and subtask
  counts, its labels, the team's standing and the caller's role, its subtasks, its attachments
  (tasks' five statements; a task of a team the caller is not in is a 404);
- ``GET /api/v1/boards/{id}`` (on tasks' database): the board, the standing, its columns, every
  card with its position (a window over the board) and subtask counts, the board's labels, the
  cards nested in their columns (tasks' five statements).

Run under the same uvicorn settings as the service it anchors::

    BARE_DATABASE_URL=postgresql://... BARE_JWKS_URL=http://.../.well-known/jwks.json \\
        uvicorn --factory bench.bare_app:create_app
"""

from __future__ import annotations

import json
import os
import urllib.request
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

QUERY = """
SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.is_active, u.is_staff,
       u.date_joined, u.last_login, p.bio, p.location, p.birth_date, p.avatar, p.role,
       p.company_name, p.timezone, p.is_verified
FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id
WHERE u.id = $1
"""


TASK = """
SELECT t.id, t.title, t.description, t.column_id, t.board_id, t.team_id, t.assignee_id,
       t.priority, t.due_date, t.completed_at, t.version, t.created_by_id, t.created_at,
       t.updated_at,
       (SELECT count(b.id) FROM tasks b WHERE b.column_id = t.column_id AND b.rank < t.rank)
           AS position,
       (SELECT count(s.id) FROM subtasks s WHERE s.task_id = t.id) AS subtask_count,
       (SELECT count(s.id) FROM subtasks s WHERE s.task_id = t.id AND s.is_completed)
           AS subtasks_completed
FROM tasks t WHERE t.id = $1
"""
TASK_LABELS = """
SELECT l.id, l.name, l.color, l.team_id FROM task_labels tl JOIN labels l ON l.id = tl.label_id
WHERE tl.task_id = $1 ORDER BY l.name, l.id
"""
STANDING = """
SELECT EXISTS (SELECT 1 FROM deleted_teams d WHERE d.team_id = $1) AS deleted,
       (SELECT m.role FROM team_members m WHERE m.team_id = $1 AND m.user_id = $2) AS role
"""
SUBTASKS = """
SELECT id, task_id, title, is_completed, created_at, updated_at FROM subtasks
WHERE task_id = $1 ORDER BY created_at, id
"""
ATTACHMENTS = """
SELECT id, task_id, file_url, filename, uploaded_by_id, file_id, created_at FROM task_attachments
WHERE task_id = $1 ORDER BY created_at, id
"""

BOARD = "SELECT id, name, team_id, created_by_id, created_at, updated_at FROM boards WHERE id = $1"
COLUMNS = """
SELECT id, name, board_id, "order", is_done, created_at FROM board_columns
WHERE board_id = $1 ORDER BY "order", id
"""
BOARD_CARDS = """
SELECT t.id, t.title, t.description, t.column_id, t.board_id, t.team_id, t.assignee_id,
       t.priority, t.due_date, t.completed_at, t.version, t.created_by_id, t.created_at,
       t.updated_at,
       row_number() OVER (PARTITION BY t.column_id ORDER BY t.rank) - 1 AS position,
       (SELECT count(s.id) FROM subtasks s WHERE s.task_id = t.id) AS subtask_count,
       (SELECT count(s.id) FROM subtasks s WHERE s.task_id = t.id AND s.is_completed)
           AS subtasks_completed
FROM tasks t WHERE t.board_id = $1 ORDER BY t.column_id, t.rank
"""
BOARD_LABELS = """
SELECT tl.task_id, l.id, l.name, l.color, l.team_id
FROM task_labels tl JOIN labels l ON l.id = tl.label_id JOIN tasks t ON t.id = tl.task_id
WHERE t.board_id = $1 ORDER BY l.name, l.id
"""


def _keys(jwks_url: str) -> dict[str, jwt.PyJWK]:
    with urllib.request.urlopen(jwks_url, timeout=10) as resp:
        data = json.loads(resp.read())
    return {k["kid"]: jwt.PyJWK(k) for k in data["keys"]}


def create_app() -> FastAPI:
    dsn = os.environ["BARE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    keys = _keys(os.environ["BARE_JWKS_URL"])
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    unauthorized = Response(status_code=401)
    not_found = Response(status_code=404)

    def _claims(request: Request) -> dict[str, Any] | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return None
        token = auth[7:]
        try:
            kid = jwt.get_unverified_header(token)["kid"]
            claims: dict[str, Any] = jwt.decode(
                token, keys[kid], algorithms=["EdDSA"], options={"verify_aud": False}
            )
        except (jwt.PyJWTError, KeyError):
            return None
        return claims

    @app.get("/api/v1/users/me")
    async def me(request: Request) -> Response:
        claims = _claims(request)
        if claims is None:
            return unauthorized
        row = await state["pool"].fetchrow(QUERY, _uuid(claims["sub"]))
        if row is None:
            return Response(status_code=404)
        return Response(orjson.dumps(dict(row), default=str), media_type="application/json")

    @app.get("/api/v1/tasks/{task_id}")
    async def task(task_id: str, request: Request) -> Response:
        claims = _claims(request)
        if claims is None:
            return unauthorized
        tid = _uuid(task_id)
        async with state["pool"].acquire() as conn:
            row = await conn.fetchrow(TASK, tid)
            if row is None:
                return not_found
            body = dict(row)
            body["labels"] = [dict(r) for r in await conn.fetch(TASK_LABELS, tid)]
            standing = await conn.fetchrow(STANDING, row["team_id"], _uuid(claims["sub"]))
            if standing["deleted"] or standing["role"] is None:
                return not_found
            body["subtasks"] = [dict(r) for r in await conn.fetch(SUBTASKS, tid)]
            body["attachments"] = [dict(r) for r in await conn.fetch(ATTACHMENTS, tid)]
        return Response(orjson.dumps(body, default=str), media_type="application/json")

    @app.get("/api/v1/boards/{board_id}")
    async def board(board_id: str, request: Request) -> Response:
        claims = _claims(request)
        if claims is None:
            return unauthorized
        bid = _uuid(board_id)
        async with state["pool"].acquire() as conn:
            row = await conn.fetchrow(BOARD, bid)
            if row is None:
                return not_found
            standing = await conn.fetchrow(STANDING, row["team_id"], _uuid(claims["sub"]))
            if standing["deleted"] or standing["role"] is None:
                return not_found
            body = dict(row)
            columns = [{**dict(c), "tasks": []} for c in await conn.fetch(COLUMNS, bid)]
            cards = [dict(c) for c in await conn.fetch(BOARD_CARDS, bid)]
            labels: dict[Any, list[dict[str, Any]]] = {}
            for lb in await conn.fetch(BOARD_LABELS, bid):
                item = dict(lb)
                labels.setdefault(item.pop("task_id"), []).append(item)
        by_column = {c["id"]: c["tasks"] for c in columns}
        for card in cards:
            card["is_completed"] = card["completed_at"] is not None
            card["labels"] = labels.get(card["id"], [])
            by_column[card["column_id"]].append(card)
        body["columns"] = columns
        return Response(orjson.dumps(body, default=str), media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)
