"""``WebSocket /api/v1/ws?token=<access token>[&after=<event id>]``: everything a signed-in
client shows live, for all the caller's teams, on one socket (see the service README for the
frames).

The token comes in the URL (verified before the handshake is accepted: a bad one is refused
with a 401 problem+json) or, without one, as the first frame ``{"type":"auth","token":...}``
within ``realtime_auth_timeout`` seconds (else, or when it is bad, the socket is closed 4401).
Afterwards :class:`~vc_common.sockets.session.SocketAuth` closes it 4401 when the token expires
(unless refreshed with an ``auth`` frame) or is revoked. A client's frames are rate-limited per
socket (a token bucket); one that keeps flooding is closed 4429. Nothing one socket sends
reaches any other socket's work: each has its own queue and writer.
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
from starlette.websockets import WebSocketDisconnect
from vc_common.auth import AuthUser, bearer_token
from vc_common.context import context_for
from vc_common.db import Database
from vc_common.errors import DomainError, Invalid, TooManyRequests, problem
from vc_common.sockets.session import CLOSE_UNAUTHORIZED, SocketAuth

from realtime.settings import Settings
from realtime.sockets import service
from realtime.sockets.runtime import Runtime
from realtime.stream.hub import CLOSE_FLOOD, CLOSE_TOO_BIG, Conn, Hub

log = logging.getLogger("realtime.ws")

router = APIRouter(tags=["live"])


def _json(body: dict[str, Any]) -> str:
    return orjson.dumps(body).decode()


def _error(exc: DomainError) -> str:
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
    return _json(body)


async def _deny(ws: WebSocket, status: int, detail: str) -> None:
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(problem(status, detail, instance=ws.url.path))
    else:
        await ws.close(code=4000 + status, reason=detail)


class FrameBudget:
    """A token bucket per socket; refused frames in a 10 s window beyond ``close_after`` mean a
    flood (the socket is closed)."""

    def __init__(self, rate: float, burst: int, close_after: int) -> None:
        self.rate, self.burst, self.close_after = rate, float(burst), close_after
        self.tokens = float(burst)
        self.at = time.monotonic()
        self.window_start = self.at
        self.refused = 0
        self.warned_at = 0.0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if now - self.window_start > 10.0:
            self.window_start, self.refused = now, 0
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.refused += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.refused > self.close_after

    def should_warn(self) -> bool:
        now = time.monotonic()
        if now - self.warned_at >= 1.0:
            self.warned_at = now
            return True
        return False


def _parse(text: str) -> dict[str, Any] | None:
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return frame if isinstance(frame, dict) else None


async def _first_frame_auth(ws: WebSocket, app: Any, wait: float) -> tuple[AuthUser, Any] | None:
    """No token in the URL: the first frame must be ``{"type":"auth","token":...}``."""
    try:
        async with asyncio.timeout(wait):
            msg = await ws.receive()
    except TimeoutError:
        await ws.close(CLOSE_UNAUTHORIZED, 'send {"type":"auth","token":...} first')
        return None
    if msg["type"] == "websocket.disconnect":
        return None
    if (
        len(msg.get("text") or msg.get("bytes") or b"")
        > app.state.settings.realtime_max_frame_bytes
    ):
        await ws.close(CLOSE_TOO_BIG, "frame too large")
        return None
    frame = _parse(msg.get("text") or "")
    token = frame.get("token") if frame is not None and frame.get("type") == "auth" else None
    if not isinstance(token, str) or not token:
        await ws.close(CLOSE_UNAUTHORIZED, "the first frame must be an auth frame with a token")
        return None
    try:
        user: AuthUser = await app.state.verifier.verify(token)
    except DomainError as exc:
        await ws.close(CLOSE_UNAUTHORIZED, exc.detail[:120])
        return None
    return user, frame.get("after") if frame is not None else None


@router.websocket("/api/v1/ws", name="live_socket")
async def live_socket(websocket: WebSocket) -> None:
    app = websocket.app
    rt: Runtime = app.state.realtime
    settings: Settings = rt.settings
    token = websocket.query_params.get("token") or bearer_token(
        websocket.headers.get("authorization")
    )
    user: AuthUser | None = None
    if token:
        try:
            user = await app.state.verifier.verify(token)
        except DomainError as exc:
            await _deny(websocket, 401, exc.detail)
            return
    after: Any = websocket.query_params.get("after")
    await websocket.accept()
    if user is None:
        got = await _first_frame_auth(websocket, app, settings.realtime_auth_timeout)
        if got is None:
            return
        user, after = got[0], got[1] or after
    await _serve(websocket, rt, user, after)


async def _serve(ws: WebSocket, rt: Runtime, user: AuthUser, after: Any) -> None:
    app = ws.app
    db: Database = app.state.db
    hub = rt.hub
    assert hub is not None
    settings = rt.settings
    conn = hub.connection(user.id)

    async def send_text(text: str) -> None:
        await ws.send_text(text)

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, reason=reason)

    conn.send_text, conn.close = send_text, close
    auth = SocketAuth(
        conn,
        app.state.verifier,
        user,
        warning=settings.realtime_token_expiry_warning,
        check_interval=settings.realtime_revocation_check_interval,
    )
    writer = asyncio.create_task(conn.writer(), name=f"ws-writer-{conn.id}")
    auth.start()
    opened = False
    try:
        async with db.unit_of_work() as session:
            ctx = context_for(app, session, user)
            await service.read_through_teams(ctx, rt.directory)
            await service.opened(ctx, conn.id, rt.replica_id)
        opened = True

        async def memberships() -> dict[uuid.UUID, tuple[bool, int]]:
            async with db.sessionmaker() as session:
                return await service.memberships(context_for(app, session, user))

        # a socket that resumes holds what arrives until its replay is sent: in order
        await hub.join(conn, memberships, hold=bool(after))
        conn.send(
            _json(
                {
                    "type": "ready",
                    "user_id": str(user.id),
                    "socket_id": str(conn.id),
                    "teams": [str(t) for t in hub.teams_of(user.id)],
                    "exp": user.exp,
                }
            )
        )
        if after:
            try:
                await _resume(ws, rt, hub, conn, auth, after)
            finally:
                hub.release(conn)  # a refused resume (bad id, reload) goes live all the same
        await _receive_loop(ws, rt, hub, conn, auth)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("live socket of user %s failed", user.id)
        conn.kill(1011, "internal error")
    finally:
        await auth.stop()
        hub.leave(conn)
        if opened:
            try:
                async with db.unit_of_work() as session:
                    await service.closed(context_for(app, session, user), conn.id)
            except Exception:
                log.warning("recording the close of socket %s failed", conn.id, exc_info=True)
        if conn.close_code is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(writer, timeout=2)
        writer.cancel()
        with contextlib.suppress(BaseException):
            await writer


async def _resume(
    ws: WebSocket, rt: Runtime, hub: Hub, conn: Conn, auth: SocketAuth, after: Any
) -> None:
    app, settings = ws.app, rt.settings
    try:
        event_id = uuid.UUID(str(after))
    except ValueError:
        conn.send(_error(Invalid("`after` must be an event id.", loc=["after"])))
        return
    async with app.state.db.sessionmaker() as session:
        point = await service.resume_point(
            context_for(app, session, auth.user), event_id, settings.realtime_resume_window
        )
    if point.seq is None:
        conn.send(_reload(point.reason or "unknown_event", event_id, settings))
        return

    async def rows(a: int, up_to: int, limit: int) -> list[Any]:
        async with app.state.db.sessionmaker() as session:
            return await service.missed(context_for(app, session, auth.user), a, up_to, limit)

    sent = await hub.replay(conn, point.seq, rows, settings.realtime_resume_limit)
    if sent is None:
        conn.send(_reload("too_many", event_id, settings))
        return
    conn.send(_json({"type": "resumed", "after": str(event_id), "replayed": sent}))


def _reload(reason: str, event_id: uuid.UUID, settings: Settings) -> str:
    minutes = int(settings.realtime_resume_window // 60)
    detail = {
        "unknown_event": "That event is not in the stream; reload the state.",
        "too_old": f"Only the last {minutes} minutes can be resumed; reload the state.",
        "too_many": "More was missed than a resume replays; reload the state.",
    }[reason]
    return _json({"type": "reload", "reason": reason, "after": str(event_id), "detail": detail})


async def _receive_loop(ws: WebSocket, rt: Runtime, hub: Hub, conn: Conn, auth: SocketAuth) -> None:
    app, settings = ws.app, rt.settings
    budget = FrameBudget(
        settings.realtime_frame_rate,
        settings.realtime_frame_burst,
        settings.realtime_flood_close_after,
    )
    last_activity_write = time.monotonic()  # the open counted as activity
    while conn.close_code is None:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return
        if not budget.take():
            if budget.flooding:
                conn.kill(CLOSE_FLOOD, "too many frames")
                return
            if budget.should_warn():
                conn.send(_error(TooManyRequests(1, "Too many frames; slow down.")))
            continue
        text = msg.get("text")
        if text is None:
            conn.send(_error(DomainError("Frames are JSON text.")))
            continue
        if len(text) > settings.realtime_max_frame_bytes:
            conn.kill(CLOSE_TOO_BIG, "frame too large")
            return
        frame = _parse(text)
        if frame is None:
            conn.send(_error(DomainError("The frame is not a JSON object.")))
            continue
        kind = frame.get("type")
        if kind == "auth":
            try:
                await auth.refresh(frame.get("token"))
            except DomainError as exc:
                conn.send(_error(exc))
                if auth.expired() or await auth.revoked():
                    return
            continue
        if not await auth.still_valid():
            return
        if kind == "ping":
            conn.send(_json({"type": "pong"}))
        elif kind == "activity":
            now = time.monotonic()
            if now - last_activity_write >= settings.realtime_activity_write_interval:
                last_activity_write = now
                async with app.state.db.unit_of_work() as session:
                    await service.activity(context_for(app, session, auth.user))
        elif kind == "resume":
            await _resume(ws, rt, hub, conn, auth, frame.get("after"))
        else:
            conn.send(
                _error(
                    Invalid(
                        "Unknown frame type; send `auth`, `resume`, `activity` or `ping`.",
                        loc=["type"],
                    )
                )
            )
