"""``WebSocket /api/v1/rooms/{room_id}/ws?token=<access_token>[&since=<message_id>]``.

The handshake is answered only after the token is verified and the caller's membership of the
room's team is checked: otherwise it is refused with an HTTP problem+json (401 bad token, 404
unknown room or not a member, 422 unknown ``since``), which the gateway passes on unchanged.
Afterwards the server sends the frames documented in the README; sockets it closes get 4401
(token expired or revoked: the socket lives as long as its token, extended by
``{"type":"auth","token":...}`` frames, see :mod:`vc_common.sockets.session`), 4403 (no longer a
member, or an ``auth`` frame for another user), 4404 (room or team deleted), 4408 (no
heartbeat), 1013 (too far behind), 1012 (server restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect
from vc_common.auth import AuthUser, bearer_token
from vc_common.badtext import text_problem
from vc_common.context import context_for
from vc_common.db import Database
from vc_common.errors import DomainError, Invalid, NotFound, problem
from vc_common.sockets.session import SocketAuth

from chat.messages import repository as messages_repo
from chat.messages import service as messages
from chat.messages.schemas import MessageCreate, message_json
from chat.realtime.hub import CLOSE_TOO_BIG, Connection, Hub
from chat.rooms.service import room_for

log = logging.getLogger("chat.ws")

router = APIRouter(tags=["realtime"])


async def _deny(ws: WebSocket, status: int, detail: str) -> None:
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(problem(status, detail, instance=ws.url.path))
    else:  # the server cannot answer the handshake with a body: close with 4xxx instead
        await ws.close(code=4000 + status, reason=detail)


def _json(body: dict[str, Any]) -> str:
    return orjson.dumps(body).decode()


def _error(exc: DomainError, client_id: Any = None) -> str:
    body: dict[str, Any] = {
        "type": "error",
        "status": exc.status,
        "title": exc.title,
        "detail": exc.detail,
    }
    if exc.errors:
        body["errors"] = exc.errors
    if "Retry-After" in exc.headers:
        body["retry_after"] = int(exc.headers["Retry-After"])
    if client_id is not None:
        body["client_id"] = client_id
    return _json(body)


@router.websocket("/api/v1/rooms/{room_id}/ws", name="room_socket")
async def room_socket(websocket: WebSocket, room_id: str) -> None:
    app = websocket.app
    db: Database = app.state.db
    hub: Hub = app.state.hub
    token = websocket.query_params.get("token") or bearer_token(
        websocket.headers.get("authorization")
    )
    if not token:
        await _deny(websocket, 401, "An access token is required (?token=).")
        return
    try:
        user: AuthUser = await app.state.verifier.verify(token)
    except DomainError as exc:
        await _deny(websocket, 401, exc.detail)
        return
    try:
        rid = uuid.UUID(room_id)
    except ValueError:
        await _deny(websocket, 404, "Room not found.")
        return
    since_seq: int | None = None
    try:
        async with db.unit_of_work() as session:
            room = await room_for(context_for(app, session, user), rid)
            team_id = room.team_id
            since = websocket.query_params.get("since")
            if since:
                since_seq = await _seq_of(session, rid, since)
    except NotFound as exc:
        await _deny(websocket, 404, exc.detail)
        return
    except DomainError as exc:
        await _deny(websocket, exc.status, exc.detail)
        return

    await websocket.accept()
    conn = hub.connection(user.id, team_id, rid)

    async def send_text(text: str) -> None:
        await websocket.send_text(text)

    async def close(code: int, reason: str) -> None:
        await websocket.close(code=code, reason=reason)

    conn.send_text, conn.close = send_text, close
    settings = app.state.settings
    auth = SocketAuth(
        conn,
        app.state.verifier,
        user,
        warning=settings.chat_token_expiry_warning,
        check_interval=settings.chat_revocation_check_interval,
    )
    writer = asyncio.create_task(conn.writer(), name=f"ws-writer-{conn.id}")
    auth.start()
    try:
        await hub.join(conn, since_seq)
        await _receive_loop(websocket, conn, hub, db, auth)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("socket of room %s failed", rid)
        conn.kill(1011, "internal error")
    finally:
        await auth.stop()
        await hub.leave(conn)
        if conn.close_code is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(writer, timeout=2)
        writer.cancel()
        with contextlib.suppress(BaseException):
            await writer


async def _seq_of(session: Any, room_id: uuid.UUID, since: str) -> int:
    try:
        mid = uuid.UUID(since)
    except ValueError:
        raise Invalid("`since` must be a message id.", loc=["query", "since"]) from None
    seq = await messages_repo.seq_of(session, room_id, mid)
    if seq is None:
        raise Invalid("`since` is not a message of this room.", loc=["query", "since"])
    return seq


async def _receive_loop(
    ws: WebSocket, conn: Connection, hub: Hub, db: Database, auth: SocketAuth
) -> None:
    while conn.close_code is None:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return
        conn.last_seen = time.monotonic()
        text = msg.get("text")
        if len(text or msg.get("bytes") or b"") > ws.app.state.settings.ws_max_frame_bytes:
            await ws.close(CLOSE_TOO_BIG, "frame too large")
            return
        if text is None:
            conn.send(_error(DomainError("Frames are JSON text.")))
            continue
        try:
            frame = orjson.loads(text)
            kind = frame.get("type") if isinstance(frame, dict) else None
        except orjson.JSONDecodeError:
            conn.send(_error(DomainError("The frame is not valid JSON.")))
            continue
        bad = text_problem(frame)  # a NUL PostgreSQL cannot store: refused like in a body
        if bad is not None:
            conn.send(_error(Invalid(bad)))
            continue
        if kind == "auth":  # a fresh token: verified (revocation included) instead of the old
            try:
                await auth.refresh(frame.get("token"))
            except DomainError as exc:
                conn.send(_error(exc))
                if auth.expired() or await auth.revoked():
                    return
            continue
        if not await auth.still_valid():  # expired or revoked: closed, the frame is dropped
            return
        if kind == "ping":
            conn.send(_json({"type": "pong"}))
        elif kind == "message":
            await _post(ws, conn, hub, db, auth.user, frame)
        elif kind == "resume":
            try:
                async with db.unit_of_work() as session:
                    seq = await _seq_of(session, conn.room_id, str(frame.get("since") or ""))
            except DomainError as exc:
                conn.send(_error(exc))
                continue
            await hub.replay(conn, seq)
        else:
            conn.send(
                _error(
                    DomainError("Unknown frame type; send `message`, `resume`, `auth` or `ping`.")
                )
            )


async def _post(
    ws: WebSocket,
    conn: Connection,
    hub: Hub,
    db: Database,
    user: AuthUser,
    frame: dict[str, Any],
) -> None:
    client_id = frame.get("client_id")
    try:
        body = MessageCreate.model_validate({"content": frame.get("content")})
    except ValidationError as exc:
        errors = [{"loc": ["content"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        conn.send(
            _error(Invalid("The message is not valid; see `errors`.", errors=errors), client_id)
        )
        return
    try:
        async with db.unit_of_work() as session:
            ctx = context_for(ws.app, session, user)
            message = await messages.post_message(
                ctx, hub, ws.app.state.limiter, conn.room_id, body.content, ws.app.state.posts
            )
    except DomainError as exc:
        conn.send(_error(exc, client_id))
        return
    ack: dict[str, Any] = {"type": "ack", "message": message_json(message)}
    if client_id is not None:
        ack["client_id"] = client_id
    conn.send(_json(ack))
