"""A socket lives as long as its access token, and no longer than its user's session (chat's
room sockets and realtime's live socket alike, so a client treats both the same).

The handshake verifies ``?token=`` once; afterwards :class:`SocketAuth` keeps the socket honest:

- **Expiry**: the socket's deadline is its token's ``exp``. ``<service>_token_expiry_warning``
  seconds before, the client gets ``{"type":"auth.expiring","exp":...}``; at the deadline the
  socket is closed with 4401 ("token expired") unless the client sent
  ``{"type":"auth","token":"<fresh access token>"}`` first. A fresh token is verified with the
  app's verifier (signature, expiry, revocation); it must name the same user (else 4403); the
  socket then runs on it (deadline = its ``exp``) and the client gets ``{"type":"auth.ok"}``.
- **Revocation** (logout, password change, deactivation): a revoked token closes the socket
  with 4401 as soon as this process learns of the revocation (the store's ``watch``: Redis
  pub/sub, or the next poll of identity's list, about a second), and as a backstop the token is
  looked up every ``<service>_revocation_check_interval`` seconds and before every client frame
  is handled.

Cost: one small guard task per socket that sleeps until the next thing due (the warning, the
deadline or the next revocation look-up); nothing is done per delivered frame. A revocation
store that cannot answer (Redis down) does not close sockets: logged, asked again next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
import weakref
from typing import Any, Protocol

import jwt
import orjson

from vc_common.auth import AuthUser, TokenVerifier
from vc_common.errors import Invalid

log = logging.getLogger("vc.ws.auth")

CLOSE_UNAUTHORIZED = 4401  # the token expired or was revoked
CLOSE_FORBIDDEN = 4403  # another user's token, or no longer a member


class Connection(Protocol):
    """What the guard needs of a service's socket connection."""

    id: Any
    close_code: int | None

    def send(self, text: str) -> Any: ...

    def kill(self, code: int, reason: str) -> Any: ...


def issued_at(token: str) -> int:
    """The ``iat`` of a token the verifier has already accepted (the signature is not checked
    again). 0 if it cannot be read: then any user-wide revocation applies to it."""
    try:
        claims = jwt.decode(
            token,
            options={
                "verify_signature": False,
                "verify_exp": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
        return int(claims["iat"])
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return 0


class SocketIndex:
    """The open sockets of one verifier in this process, by what a revocation names: a pushed
    revocation closes its sockets without a look-up per socket."""

    def __init__(self) -> None:
        self._by: dict[tuple[str, str], set[SocketAuth]] = {}

    @staticmethod
    def _keys(auth: SocketAuth) -> list[tuple[str, str]]:
        keys = [("jti", auth.user.jti), ("user", str(auth.user.id))]
        if auth.user.sid:
            keys.append(("sid", auth.user.sid))
        return keys

    def add(self, auth: SocketAuth) -> None:
        for key in self._keys(auth):
            self._by.setdefault(key, set()).add(auth)

    def discard(self, auth: SocketAuth) -> None:
        for key in self._keys(auth):
            found = self._by.get(key)
            if found is not None:
                found.discard(auth)
                if not found:
                    del self._by[key]

    def __len__(self) -> int:
        return len({a for found in self._by.values() for a in found})

    def revoked(self, kind: str, key: str, value: int) -> None:
        """A revocation became known: close the sockets it names (4401)."""
        if kind == "user":
            try:
                key = str(uuid.UUID(key))
            except ValueError:
                return
        for auth in list(self._by.get((kind, key), ())):
            if kind != "user" or auth.iat < value:  # a user's cutoff: tokens issued before it
                auth.conn.kill(CLOSE_UNAUTHORIZED, "token revoked")


_indexes: weakref.WeakKeyDictionary[TokenVerifier, SocketIndex] = weakref.WeakKeyDictionary()


def socket_index(verifier: TokenVerifier) -> SocketIndex:
    """The verifier's index, made (and subscribed to its store's revocations) on first use."""
    index = _indexes.get(verifier)
    if index is None:
        index = _indexes[verifier] = SocketIndex()
        watch = getattr(verifier.revocations, "watch", None)
        if watch is not None:
            watch(index.revoked)
    return index


class SocketAuth:
    def __init__(
        self,
        conn: Connection,
        verifier: TokenVerifier,
        user: AuthUser,
        *,
        warning: float = 60.0,
        check_interval: float = 30.0,
    ) -> None:
        self.conn = conn
        self.verifier = verifier
        self.user = user
        self.iat = issued_at(user.token)
        self.warning = warning
        self.check_interval = max(0.05, check_interval)
        self._warned = False
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def exp(self) -> int:
        """The socket's deadline (epoch seconds): its current token's ``exp``."""
        return self.user.exp

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        socket_index(self.verifier).add(self)
        self._task = asyncio.create_task(self._guard(), name=f"ws-auth-{self.conn.id}")

    async def stop(self) -> None:
        socket_index(self.verifier).discard(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    # ---- checks ------------------------------------------------------------------------------

    def expired(self) -> bool:
        """Past the deadline: the socket is closed (4401)."""
        if time.time() >= self.exp:
            self.conn.kill(CLOSE_UNAUTHORIZED, "token expired")
            return True
        return False

    async def revoked(self) -> bool:
        """The token is revoked: the socket is closed (4401)."""
        try:
            revoked = await self.verifier.revocations.is_revoked(self.user, self.iat)
        except Exception:
            log.warning("revocation check of socket %s failed", self.conn.id, exc_info=True)
            return False
        if revoked:
            self.conn.kill(CLOSE_UNAUTHORIZED, "token revoked")
        return revoked

    async def still_valid(self) -> bool:
        """Before a client frame is handled: not expired, not revoked."""
        return not self.expired() and not await self.revoked()

    async def refresh(self, token: Any) -> bool:
        """An ``auth`` frame. Raises a ``DomainError`` (answered with an error frame; the socket
        keeps its current token) for a missing or invalid token; closes the socket (4403) for
        another user's token. True when the socket now runs on the new token."""
        if not isinstance(token, str) or not token:
            raise Invalid("`token` must be an access token.", loc=["token"])
        user = await self.verifier.verify(token)  # Unauthorized: bad, expired or revoked
        if user.id != self.user.id:
            self.conn.kill(CLOSE_FORBIDDEN, "the token is for another user")
            return False
        index = socket_index(self.verifier)
        index.discard(self)
        self.user, self.iat, self._warned = user, issued_at(token), False
        index.add(self)
        self._changed.set()
        if self.expired():  # accepted within the verifier's leeway, but already past its exp
            return False
        self.conn.send(orjson.dumps({"type": "auth.ok", "exp": user.exp}).decode())
        return True

    # ---- the guard ---------------------------------------------------------------------------

    async def _guard(self) -> None:
        conn = self.conn
        # spread the look-ups of sockets opened together (a replica's restart)
        next_check = time.monotonic() + self.check_interval * random.uniform(0.5, 1.0)
        while conn.close_code is None:
            if self.expired():
                return
            warn_at = self.exp - self.warning
            if not self._warned and time.time() >= warn_at:
                self._warned = True
                conn.send(orjson.dumps({"type": "auth.expiring", "exp": self.exp}).decode())
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self.check_interval
                if await self.revoked():
                    return
                continue
            due = self.exp if self._warned else warn_at
            delay = min(due - time.time(), next_check - time.monotonic())
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, delay)):
                    await self._changed.wait()  # set by refresh(): the deadline moved
