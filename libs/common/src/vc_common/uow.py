"""The request's unit of work, and the ``Idempotency-Key`` mechanism that rides on it.

One ``AsyncSession`` per request, opened lazily by :data:`SessionDep`. :class:`UnitOfWorkMiddleware`
holds the response until the session has been committed (2xx/3xx) or rolled back (4xx/5xx), so a
client never sees a success for a change that was not committed.

A safe-method request (GET, HEAD, OPTIONS) reads without a transaction: its session is a *read
session* (see ``vc_common.db``): autocommit statements, no ``BEGIN``/``COMMIT`` round trips, and
every write refused loudly (:class:`~vc_common.db.ReadOnlyViolation`, a 500). An endpoint
declares the exceptions on itself, under its route decorator::

    @router.get("/oauth/{kind}/callback")
    @writes                 # a GET that must write (an OAuth redirect lands on a GET)
    async def oauth_callback(...): ...

    @router.get("/boards/{board_id}")
    @snapshot               # several statements that must see one snapshot
    async def get_board(...): ...

``Idempotency-Key`` on a POST: the key row is INSERTed first, in the same transaction as the
request's effects (``ON CONFLICT DO NOTHING``: never check-then-insert). A concurrent retry blocks
on the unique index until the first attempt ends; if that committed, the retry gets the stored
response, byte for byte, with ``Idempotent-Replayed: true``. A key reused with another body is a
422; keys live 24 hours. Error answers are not stored: they changed nothing, so a retry re-runs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, TypeVar

from fastapi import Depends, Request
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vc_common.auth import TokenVerifier, bearer_token
from vc_common.db import Database
from vc_common.errors import DomainError, problem
from vc_common.tables import CommonTables

log = logging.getLogger("vc.uow")

IDEMPOTENCY_TTL = timedelta(hours=24)
_REPLAY_HEADERS = {"content-type", "location", "etag", "cache-control"}

#: the methods whose requests read: a read session unless the endpoint says otherwise
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: how a request's session runs: a transaction that may write, autocommit reads, or reads in one
#: REPEATABLE READ READ ONLY snapshot
SessionMode = Literal["write", "read", "snapshot"]

_F = TypeVar("_F", bound=Callable[..., object])


def writes(endpoint: _F) -> _F:
    """Mark a safe-method endpoint that writes: its session is a transaction like a POST's."""
    endpoint.__vc_session_mode__ = "write"  # type: ignore[attr-defined]
    return endpoint


def snapshot(endpoint: _F) -> _F:
    """Mark a safe-method endpoint whose statements must all see one snapshot: they run in a
    REPEATABLE READ READ ONLY transaction (one ``BEGIN`` and ``COMMIT`` more than a plain read)."""
    endpoint.__vc_session_mode__ = "snapshot"  # type: ignore[attr-defined]
    return endpoint


def session_mode(method: str, endpoint: object) -> SessionMode:
    """The session a request to ``endpoint`` gets."""
    if method not in SAFE_METHODS:
        return "write"
    mode: SessionMode = getattr(endpoint, "__vc_session_mode__", "read")
    return mode


class _ClientGone(Exception):
    """The client went away before its request's body was complete: nothing is kept."""


class RequestUnitOfWork:
    __slots__ = ("_session", "db")

    def __init__(self, db: Database) -> None:
        self.db = db
        self._session: AsyncSession | None = None

    @property
    def started(self) -> bool:
        return self._session is not None

    @property
    def pending(self) -> bool:
        """Whether finishing means anything: the session has a transaction open, or objects not
        yet flushed. A request that never touched its session (or whose reads ran in a unit of
        their own) has nothing to commit, so its answer may stream as it is produced."""
        s = self._session
        return s is not None and (s.in_transaction() or bool(s.new or s.dirty or s.deleted))

    def session(self, mode: SessionMode = "write") -> AsyncSession:
        """The request's session, opened on first use in ``mode`` (later calls get the same)."""
        if self._session is None:
            if mode == "read":
                self._session = self.db.read_sessionmaker()
            elif mode == "snapshot":
                self._session = self.db.snapshot_sessionmaker()
            else:
                self._session = self.db.sessionmaker()
        return self._session

    async def finish(self, commit: bool) -> None:
        if self._session is None:
            return
        try:
            if commit:
                await self._session.commit()
            else:
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None


async def get_session(request: Request) -> AsyncSession:
    scope = request.scope
    uow: RequestUnitOfWork | None = scope.get("vc_uow")
    if uow is None:
        raise RuntimeError("UnitOfWorkMiddleware is not installed")
    return uow.session(session_mode(scope["method"], scope.get("endpoint")))


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return str(v.decode("latin-1"))
    return None


class UnitOfWorkMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        db: Callable[[], Database],
        tables: CommonTables | None = None,
        verifier: Callable[[], TokenVerifier | None] | None = None,
    ) -> None:
        self.app = app
        self._db = db
        self.tables = tables
        self._verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        uow = RequestUnitOfWork(self._db())
        scope["vc_uow"] = uow
        key = _header(scope, b"idempotency-key")
        try:
            if key is not None and scope["method"] == "POST" and self.tables is not None:
                await self._idempotent(scope, receive, send, uow, key)
            else:
                await self._run(scope, receive, send, uow, None)
        finally:
            if uow.started:
                await uow.finish(commit=False)

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        uow: RequestUnitOfWork,
        on_success: Callable[[int, list[tuple[bytes, bytes]], bytes], Awaitable[None]] | None,
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def capture(message: Message) -> None:
            nonlocal start, passthrough
            if message["type"] == "http.response.start":
                if not uow.pending and on_success is None:
                    passthrough = True
                    await send(message)
                    return
                start = message
                return
            if passthrough or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            status = int(start["status"])
            body = b"".join(chunks)
            headers = list(start.get("headers", []))
            if status < 400:
                try:
                    if on_success is not None:
                        await on_success(status, headers, body)
                    await uow.finish(commit=True)
                except _ClientGone:
                    await uow.finish(commit=False)
                    return
                except IntegrityError:
                    log.info("commit refused by a constraint", exc_info=True)
                    await self._send_problem(
                        send,
                        409,
                        "The change conflicts with the current state; reload and try again.",
                    )
                    return
                except DBAPIError:
                    log.exception("commit failed")
                    await self._send_problem(send, 503, "The change could not be saved; retry.")
                    return
            else:
                await uow.finish(commit=False)
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, capture)

    @staticmethod
    async def _send_problem(send: Send, status: int, detail: str) -> None:
        resp = problem(status, detail)
        await send({"type": "http.response.start", "status": status, "headers": resp.raw_headers})
        await send({"type": "http.response.body", "body": resp.body})

    async def _principal(self, scope: Scope) -> str | None:
        token = bearer_token(_header(scope, b"authorization"))
        if token is None:
            return "anonymous"
        verifier = self._verifier() if self._verifier else None
        if verifier is None:
            return None
        try:
            user = await verifier.verify(token)
        except DomainError:
            return None  # the endpoint answers 401 itself
        return f"user:{user.id}"

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, uow: RequestUnitOfWork, key: str
    ) -> None:
        if not 1 <= len(key) <= 255:
            await self._send_problem(send, 400, "Idempotency-Key must be 1 to 255 characters.")
            return
        principal = await self._principal(scope)
        if principal is None:
            await self._run(scope, receive, send, uow, None)
            return
        # The fingerprint is the SHA-256 of method, path, query and body, computed as the body
        # passes (never buffered: an upload may be large).
        digest = hashlib.sha256()
        digest.update(scope["method"].encode())
        digest.update(b" " + scope.get("raw_path", scope["path"].encode()) + b"?")
        digest.update(scope.get("query_string", b"") + b"\n")
        body_done = False

        async def hashing_receive() -> Message:
            nonlocal body_done
            msg = await receive()
            if msg["type"] == "http.request" and not body_done:
                digest.update(msg.get("body", b""))
                body_done = not msg.get("more_body", False)
            return msg

        async def drain() -> bool:
            """Read (and hash) what is left of the body; False if the client went away."""
            while not body_done:
                if (await hashing_receive())["type"] == "http.disconnect":
                    return False
            return True

        assert self.tables is not None
        t = self.tables.idempotency_keys
        session = uow.session()
        now = datetime.now(UTC)
        await session.execute(
            delete(t).where(
                t.c.principal == principal, t.c.key == key, t.c.created_at < now - IDEMPOTENCY_TTL
            )
        )
        inserted = (
            await session.execute(
                pg_insert(t)
                .values(principal=principal, key=key, fingerprint="")
                .on_conflict_do_nothing()
                .returning(t.c.key)
            )
        ).first()
        if inserted is None:
            row = (
                await session.execute(select(t).where(t.c.principal == principal, t.c.key == key))
            ).first()
            await uow.finish(commit=False)
            if not await drain():
                return
            fingerprint = digest.hexdigest()
            if row is None or row.status_code is None:
                await self._send_problem(
                    send,
                    409,
                    "A request with this Idempotency-Key is still in progress; retry shortly.",
                )
                return
            if row.fingerprint != fingerprint:
                await self._send_problem(
                    send, 422, "This Idempotency-Key was used with a different request."
                )
                return
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in row.headers]
            headers.append((b"idempotent-replayed", b"true"))
            await send(
                {"type": "http.response.start", "status": row.status_code, "headers": headers}
            )
            await send({"type": "http.response.body", "body": row.body})
            return

        async def store(status: int, headers: list[tuple[bytes, bytes]], resp_body: bytes) -> None:
            kept = [
                [k.decode("latin-1"), v.decode("latin-1")]
                for k, v in headers
                if k.decode("latin-1").lower() in _REPLAY_HEADERS
            ]
            if not await drain():
                raise _ClientGone
            await session.execute(
                update(t)
                .where(t.c.principal == principal, t.c.key == key)
                .values(
                    status_code=status,
                    headers=kept,
                    body=resp_body,
                    fingerprint=digest.hexdigest(),
                )
            )

        await self._run(scope, hashing_receive, send, uow, store)


async def purge_idempotency_keys(session: AsyncSession, tables: CommonTables) -> int:
    t = tables.idempotency_keys
    result = await session.execute(
        delete(t).where(t.c.created_at < datetime.now(UTC) - IDEMPOTENCY_TTL)
    )
    return int(getattr(result, "rowcount", 0) or 0)
