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
- ``POST /api/v1/tasks/{id}/move`` (on tasks' database), in one transaction: the task's team and
  board, the standing, a savepoint, the columns it leaves and enters locked, then in one
  statement the task's row locked with its subtask counts, labels and index in its column and
  the neighbours at the index asked (tasks' slot_locked statement), a rank between theirs (when
  there is none: back to the savepoint, the locks again, the column's ranks spread again, and
  that statement again), then one statement: its row, its history row and its
  ``tasks.task.moved`` event in the outbox (with the transaction's ``pg_notify``), and the
  history row and event of its completion or reopening when it enters or leaves a done column;
  the answer is the locked row with its new place: the statements tasks runs for a move.

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


REF = "SELECT team_id, board_id, column_id FROM tasks WHERE id = $1"
# the column a task leaves and the one it enters, in id order (tasks.tasks.positions)
LOCK_COLUMNS = (
    "SELECT id, board_id, is_done FROM board_columns WHERE id = ANY($1::uuid[])"
    " ORDER BY id FOR UPDATE"
)
_OTHERS = "FROM tasks WHERE column_id = $1 AND id != $2"
_NTH = f"(SELECT rank {_OTHERS} ORDER BY rank LIMIT 1 OFFSET {{}})"
# the task's row locked, with its subtask counts, its labels and its index in the column it is
# in, and the neighbours at the index asked in the column it enters: one statement, under the
# columns' locks (tasks' slot_locked)
_SLOT_LOCKED = f"""
SELECT t.*,
       (SELECT count(s.id) FROM subtasks s WHERE s.task_id = t.id) AS subtask_count,
       (SELECT count(s.id) FROM subtasks s WHERE s.task_id = t.id AND s.is_completed)
           AS subtasks_completed,
       (SELECT coalesce(json_agg(json_build_object('id', l.id, 'name', l.name, 'color', l.color,
                                                   'team_id', l.team_id) ORDER BY l.name, l.id),
                        '[]'::json)
        FROM task_labels tl JOIN labels l ON l.id = tl.label_id WHERE tl.task_id = t.id) AS labels,
       (SELECT count(b.id) FROM tasks b WHERE b.column_id = t.column_id AND b.rank < t.rank)
           AS position,
       (SELECT count(id) {_OTHERS}) AS slot_count, (SELECT max(rank) {_OTHERS}) AS slot_last,
       {{before}} AS slot_before, {_NTH.format("$3")} AS slot_after
FROM tasks t WHERE t.id = $2 FOR UPDATE OF t
"""
SLOT_FIRST = _SLOT_LOCKED.format(before="NULL")
SLOT_K = _SLOT_LOCKED.format(before=_NTH.format("$4"))
_SLOT_KEYS = ("slot_count", "slot_last", "slot_before", "slot_after")
LOCK_COLUMN_TASKS = (
    "SELECT id, rank, column_id FROM tasks WHERE column_id = $1 OR id = $2 ORDER BY id FOR UPDATE"
)
SET_RANKS = """
UPDATE tasks SET rank = v.rank FROM unnest($2::uuid[], $3::bigint[]) AS v(id, rank)
WHERE tasks.id = v.id AND tasks.column_id = $1
"""
WRITE_MOVE = """
WITH placed AS (
    UPDATE tasks SET column_id = $2, rank = $3, completed_at = $4, version = $5, updated_at = $6
    WHERE id = $1 RETURNING id
), history AS (
    INSERT INTO task_activity (id, task_id, team_id, user_id, action, changes)
    SELECT h.id, placed.id, $7, $8, h.action, h.changes
    FROM placed, unnest($9::uuid[], $10::text[], $11::jsonb[]) AS h(id, action, changes)
), notified AS (SELECT pg_notify('outbox_tasks', '') AS n FROM placed)
INSERT INTO outbox (id, type, subject, payload)
SELECT e.id, e.type, $1::text, e.payload
FROM placed, notified, unnest($12::uuid[], $13::text[], $14::jsonb[]) WITH ORDINALITY
    AS e(id, type, payload, n)
ORDER BY e.n
"""
RANK_GAP = 1 << 32


def _between(before: int | None, after: int | None) -> int | None:
    """tasks' rank arithmetic (the bigint range's ends left out: a bench never gets there)."""
    if before is None:
        return 0 if after is None else after - RANK_GAP
    if after is None:
        return before + RANK_GAP
    return before + (after - before) // 2 if after - before >= 2 else None


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

    @app.post("/api/v1/tasks/{task_id}/move")
    async def move(task_id: str, request: Request) -> Response:
        claims = _claims(request)
        if claims is None:
            return unauthorized
        body = orjson.loads(await request.body())
        tid, cid, index = _uuid(task_id), _uuid(body["column_id"]), int(body["position"])
        user = _uuid(claims["sub"])
        async with state["pool"].acquire() as conn, conn.transaction():
            ref = await conn.fetchrow(REF, tid)
            if ref is None:
                return not_found
            standing = await conn.fetchrow(STANDING, ref["team_id"], user)
            if standing["deleted"] or standing["role"] is None:
                return not_found
            src = ref["column_id"]
            await conn.execute("SAVEPOINT task_places")
            spread = False
            while True:
                cols = {r["id"]: r for r in await conn.fetch(LOCK_COLUMNS, sorted({src, cid}))}
                dst = cols.get(cid)
                if dst is None or dst["board_id"] != ref["board_id"]:
                    return Response(status_code=422)
                if spread:  # the rows in id order, the task's row not yet locked (tasks does)
                    await _respread(conn, cid, tid)
                    spread = False
                if index == 0:
                    row = await conn.fetchrow(SLOT_FIRST, cid, tid, 0)
                else:
                    row = await conn.fetchrow(SLOT_K, cid, tid, index, index - 1)
                if row is None:
                    return not_found
                card = dict(row)
                count, last, before, after = (card.pop(k) for k in _SLOT_KEYS)
                at = index if after is not None else count
                if after is None:
                    before = last
                rank = _between(before, after)
                if card["column_id"] == src and rank is not None:
                    break
                # it moved meanwhile, or no room: let the locks go (the task's row too), again
                await conn.execute("ROLLBACK TO SAVEPOINT task_places")
                spread = card["column_id"] == src
                src = card["column_id"]
            # its index in the column it leaves (or moves in), under that column's lock
            from_at, left_done = card["position"], cols[src]["is_done"]
            if not (card["column_id"] == cid and from_at == at):
                await _write_move(conn, card, dst, rank, from_at, at, left_done, user)
        # the answer: the locked row with its new place (what tasks answers)
        card["position"] = at
        card["labels"] = orjson.loads(card["labels"])
        card["is_completed"] = card["completed_at"] is not None
        return Response(orjson.dumps(card, default=str), media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _respread(conn: Any, column_id: Any, task_id: Any) -> None:
    """The column's ranks spread evenly again, every task where it is (tasks' respread)."""
    rows = await conn.fetch(LOCK_COLUMN_TASKS, column_id, task_id)
    order = [r["id"] for r in sorted(rows, key=lambda r: r["rank"]) if r["column_id"] == column_id]
    await conn.execute(SET_RANKS, column_id, order, [n * RANK_GAP for n in range(len(order))])


async def _write_move(
    conn: Any,
    task: dict[str, Any],
    dst: Any,
    rank: int,
    from_at: int,
    at: int,
    left_done: bool,
    user: Any,
) -> None:
    """The task's row, its history and its events (completion too) in one statement, as tasks
    writes them."""
    import datetime as dt
    import uuid

    now = dt.datetime.now(dt.UTC)
    before_done, from_column = task["completed_at"], task["column_id"]
    done = task["completed_at"]
    if dst["is_done"] and not left_done:
        done = now
    elif left_done and not dst["is_done"]:
        done = None
    task.update(
        column_id=dst["id"],
        rank=rank,
        completed_at=done,
        version=task["version"] + 1,
        updated_at=now,
    )
    moved = {
        "column_id": {"from": from_column, "to": dst["id"]},
        "position": {"from": from_at, "to": at},
    }
    history = [
        (
            "moved",
            moved,
            "tasks.task.moved",
            {
                "from_column_id": from_column,
                "to_column_id": dst["id"],
                "from_position": from_at,
                "position": at,
            },
        )
    ]
    if before_done is None and done is not None:
        history.append(
            (
                "completed",
                {"completed_at": {"from": None, "to": done}},
                "tasks.task.completed",
                {"completed_at": done},
            )
        )
    elif before_done is not None and done is None:
        history.append(
            (
                "reopened",
                {"completed_at": {"from": before_done, "to": None}},
                "tasks.task.reopened",
                {"previous_completed_at": before_done, "reopened_at": now},
            )
        )
    snapshot = {
        k: task[k]
        for k in (
            "board_id",
            "team_id",
            "column_id",
            "title",
            "assignee_id",
            "priority",
            "due_date",
        )
    }
    payloads, ids = [], []
    for _, _, type_, extra in history:
        data = {**snapshot, "task_id": task["id"], "user_id": user, **extra}
        data["is_completed"] = done is not None
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "tasks",
            "type": type_,
            "subject": str(task["id"]),
            "time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "datacontenttype": "application/json",
            "data": data,
        }
        ids.append(uuid.UUID(event["id"]))
        payloads.append(orjson.dumps(event, default=str).decode())
    await conn.execute(
        WRITE_MOVE,
        task["id"],
        dst["id"],
        rank,
        done,
        task["version"],
        now,
        task["team_id"],
        user,
        [uuid.uuid4() for _ in history],
        [h[0] for h in history],
        [orjson.dumps(h[1], default=str).decode() for h in history],
        ids,
        [h[2] for h in history],
        payloads,
    )


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)
