"""Access-token verification against identity's JWKS, and the ``CurrentUser`` dependency.

Every service verifies tokens itself (not only the gateway). Keys come from the JWKS, cached and
refreshed when a token names an unknown ``kid`` (key rotation without logging anyone out).
Verified tokens are cached until they expire, so a hot path pays the signature check once.
Revocation (logout, password change, deactivation, demotion) is checked on every request through
a :class:`RevocationStore`: Redis when ``REDIS_URL`` is set (identity writes there, every verifier
reads it: immediate); otherwise a :class:`RevocationFeed`, a small in-memory projection of
identity's durable revocation list that every verifier polls (``/internal/v1/revocations``, once a
second by default): a revoked token is refused everywhere within that interval plus one round trip.
A revocation names an access token (``jti``), a sign-in (``sid``: every access token one login and
its refreshes issued) or a user (every token issued before a cutoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vc_common.errors import Forbidden, ServiceUnavailable, Unauthorized
from vc_common.redisclient import RETRY_AFTER_REDIS, redis_unavailable

ALGORITHMS = ["EdDSA", "RS256"]
log = logging.getLogger("vc.auth")


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: uuid.UUID
    username: str
    is_staff: bool
    jti: str
    exp: int
    token: str
    #: the sign-in (refresh-token family) the token belongs to; "" for tokens without one
    sid: str = ""


class KeySource(Protocol):
    async def key_for(self, kid: str) -> jwt.PyJWK | None: ...


class StaticKeySource:
    """Keys known in-process (identity verifies its own tokens this way, and tests)."""

    def __init__(self, jwks: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        self._jwks = jwks

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        jwks = self._jwks() if callable(self._jwks) else self._jwks
        for k in jwks.get("keys", []):
            if k.get("kid") == kid:
                return jwt.PyJWK(k)
        return None


class JWKSKeySource:
    """Fetches a JWKS over HTTP; caches it ``ttl`` seconds; refetches on an unknown kid, at most
    once every ``min_refresh`` seconds so a flood of forged kids cannot hammer identity."""

    def __init__(
        self, url: str, *, ttl: float = 600.0, min_refresh: float = 10.0, timeout: float = 3.0
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.timeout = timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.min_refresh:
                return
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                resp = await client.get(self.url)
                resp.raise_for_status()
                data = resp.json()
            keys = {}
            for k in data.get("keys", []):
                try:
                    keys[k["kid"]] = jwt.PyJWK(k)
                except (jwt.PyJWKError, KeyError):
                    continue
            self._keys = keys
            self._fetched_at = time.monotonic()

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        stale = time.monotonic() - self._fetched_at > self.ttl
        if stale or kid not in self._keys:
            try:
                await self._refresh()
            except (httpx.HTTPError, ValueError):
                if not self._keys:
                    raise
        return self._keys.get(kid)


class RevocationStore(Protocol):
    async def revoke_token(self, jti: str, exp: int) -> None: ...
    async def revoke_session(self, sid: str, exp: int) -> None: ...
    async def revoke_user(self, user_id: uuid.UUID, before: int) -> None: ...
    async def is_revoked(self, user: AuthUser, issued_at: int) -> bool: ...


#: one revocation as identity lists it: (kind, key, value); kind "jti" or "sid" (value: the
#: unix time it may be forgotten) or "user" (value: tokens issued before it are dead)
Revocation = tuple[str, str, int]
#: told of each revocation as it becomes known here: ``listener(kind, key, value)``
RevocationListener = Callable[[str, str, int], None]


def _notify(listeners: list[RevocationListener], kind: str, key: str, value: int) -> None:
    for listener in listeners:
        try:
            listener(kind, key, value)
        except Exception:
            log.exception("revocation listener failed")


class MemoryRevocationStore:
    """Revocations in process memory: a single node's store, and the projection a
    :class:`RevocationFeed` keeps."""

    def __init__(self) -> None:
        self._tokens: dict[str, int] = {}  # "jti:<jti>" or "sid:<sid>" -> expiry
        self._users: dict[uuid.UUID, int] = {}
        self._listeners: list[RevocationListener] = []

    def watch(self, listener: RevocationListener) -> None:
        """Call ``listener`` with each revocation applied from now on (open sockets)."""
        self._listeners.append(listener)

    def apply(self, kind: str, key: str, value: int) -> None:
        """Record a revocation; listeners hear of it only when it changes what is revoked (the
        feed lists its last 30 s again on every poll)."""
        if kind == "user":
            try:
                user_id = uuid.UUID(key)
            except ValueError:
                return
            if value <= self._users.get(user_id, 0):
                return
            self._users[user_id] = value
        else:
            token = f"{kind}:{key}"
            if self._tokens.get(token) == value:
                return
            self._tokens[token] = value
            if len(self._tokens) > 10_000:
                now = int(time.time())
                self._tokens = {k: v for k, v in self._tokens.items() if v > now}
        _notify(self._listeners, kind, key, value)

    async def revoke_token(self, jti: str, exp: int) -> None:
        self.apply("jti", jti, exp)

    async def revoke_session(self, sid: str, exp: int) -> None:
        self.apply("sid", sid, exp)

    async def revoke_user(self, user_id: uuid.UUID, before: int) -> None:
        self.apply("user", str(user_id), before)

    async def is_revoked(self, user: AuthUser, issued_at: int) -> bool:
        if f"jti:{user.jti}" in self._tokens:
            return True
        if user.sid and f"sid:{user.sid}" in self._tokens:
            return True
        cutoff = self._users.get(user.id)
        return cutoff is not None and issued_at < cutoff


class RedisRevocationStore:
    """Revocations shared by every replica of every service. Keys expire with the tokens.

    Each revocation is also published on ``vc:revocations`` (``"<kind> <key> <value>"``), so a
    process with open sockets (:meth:`watch`) closes the revoked ones at once instead of at its
    next periodic look-up; a message lost while the subscriber reconnects is still caught by
    that look-up."""

    ACCESS_TTL = 15 * 60 + 60
    CHANNEL = "vc:revocations"

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._listeners: list[RevocationListener] = []
        self._task: asyncio.Task[None] | None = None

    async def _publish(self, kind: str, key: str, value: int) -> None:
        try:
            await self.redis.publish(self.CHANNEL, f"{kind} {key} {value}")
        except Exception:  # the key is set: sockets see it at their next look-up
            log.warning("revocation not published (%s %s)", kind, key, exc_info=True)

    async def revoke_token(self, jti: str, exp: int) -> None:
        ttl = max(1, exp - int(time.time()))
        await self.redis.set(f"vc:revoked:jti:{jti}", 1, ex=ttl)
        await self._publish("jti", jti, exp)

    async def revoke_session(self, sid: str, exp: int) -> None:
        ttl = max(1, exp - int(time.time()))
        await self.redis.set(f"vc:revoked:sid:{sid}", 1, ex=ttl)
        await self._publish("sid", sid, exp)

    async def revoke_user(self, user_id: uuid.UUID, before: int) -> None:
        await self.redis.set(f"vc:revoked:user:{user_id}", before, ex=self.ACCESS_TTL)
        await self._publish("user", str(user_id), before)

    def watch(self, listener: RevocationListener) -> None:
        """Call ``listener`` with each revocation published from now on (needs a running loop:
        the first listener starts the subscriber, :meth:`close` stops it)."""
        self._listeners.append(listener)
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="revocation-subscriber")

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = message["data"]
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    kind, key, value = text.split(" ", 2)
                    _notify(self._listeners, kind, key, int(value))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("revocation subscriber lost Redis; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def is_revoked(self, user: AuthUser, issued_at: int) -> bool:
        """Fails closed: a token whose revocation cannot be looked up (Redis down, or every
        connection busy past the pool's timeout) is not let through; the client gets 503 with
        ``Retry-After`` and retries, rather than a 500 or a revoked token's access."""
        try:
            jti_hit, sid_hit, cutoff = await self.redis.mget(
                f"vc:revoked:jti:{user.jti}",
                f"vc:revoked:sid:{user.sid or '-'}",
                f"vc:revoked:user:{user.id}",
            )
        except Exception as exc:
            if not redis_unavailable(exc):
                raise
            log.warning("revocations unavailable: %s", repr(exc)[:200])
            raise ServiceUnavailable(
                "Token revocations cannot be checked right now; retry shortly.",
                headers={"Retry-After": str(RETRY_AFTER_REDIS)},
            ) from exc
        if jti_hit is not None or sid_hit is not None:
            return True
        return cutoff is not None and issued_at < int(cutoff)


#: reads identity's revocations after a cursor: (the new cursor, the entries)
RevocationFetch = Callable[[int], Awaitable[tuple[int, list[Revocation]]]]


class HttpRevocations:
    """Fetches from identity's ``GET /internal/v1/revocations?after=<cursor>`` (one kept-alive
    connection)."""

    def __init__(self, url: str, *, timeout: float = 3.0) -> None:
        self.url = url
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, after: int) -> tuple[int, list[Revocation]]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        resp = await self._client.get(self.url, params={"after": after})
        resp.raise_for_status()
        data = resp.json()
        items = [(str(i["kind"]), str(i["key"]), int(i["value"])) for i in data["items"]]
        return int(data["last"]), items

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def revocations_url_of(jwks_url: str) -> str:
    """Identity's revocation list sits beside its JWKS."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(jwks_url)
    return urlunsplit(parts._replace(path="/internal/v1/revocations", query=""))


class RevocationFeed(MemoryRevocationStore):
    """Every verifier's projection of identity's revocation list, kept by polling it every
    ``interval`` seconds (identity answers what is new after a cursor, so a poll is one indexed
    query). A revocation made here (identity itself) applies at once. While identity cannot be
    reached the projection stays as it was (identity is also where revocations are made)."""

    #: before the first answer, identity is usually still starting (every service of a
    #: platform starts at once): failures are only reported once they last this long
    STARTUP_GRACE = 30.0

    def __init__(self, fetch: RevocationFetch, *, interval: float = 1.0) -> None:
        super().__init__()
        self.fetch = fetch
        self.interval = interval
        self.cursor = 0
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._reached = False
        self._started = time.monotonic()

    async def poll(self) -> int:
        """One round: fetch and apply what is new; the number of entries applied."""
        applied = 0
        while True:
            last, items = await self.fetch(self.cursor)
            for kind, key, value in items:
                self.apply(kind, key, value)
            applied += len(items)
            if last < self.cursor:  # identity's list was recreated: read it again from the start
                self.cursor = 0
                continue
            more = last > self.cursor and len(items) >= 1000
            self.cursor = last
            if not more:
                return applied

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
                if self._failing:
                    log.info("revocation list reachable again")
                self._failing = False
                self._reached = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                starting = (
                    not self._reached and time.monotonic() - self._started < self.STARTUP_GRACE
                )
                if not self._failing and not starting:
                    log.warning("revocation list unreachable (%s); retrying", exc)
                    self._failing = True
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._started = time.monotonic()
            self._task = asyncio.create_task(self._run(), name="revocation-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        aclose = getattr(self.fetch, "aclose", None)
        if aclose is not None:
            await aclose()


def revocation_store(
    redis: Any, *, jwks_url: str, url: str | None = None, interval: float = 1.0
) -> RevocationStore:
    """Redis when there is one, else a feed of identity's list (started by the caller)."""
    if redis is not None:
        return RedisRevocationStore(redis)
    return RevocationFeed(HttpRevocations(url or revocations_url_of(jwks_url)), interval=interval)


class TokenVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        revocations: RevocationStore | None = None,
        cache_size: int = 20_000,
        leeway: int = 10,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.revocations = revocations or MemoryRevocationStore()
        self.cache_size = cache_size
        self.leeway = leeway
        self._cache: OrderedDict[str, tuple[AuthUser, int]] = OrderedDict()

    async def verify(self, token: str) -> AuthUser:
        """The user the token names, or ``Unauthorized``."""
        now = int(time.time())
        hit = self._cache.get(token)
        if hit is not None and hit[0].exp + self.leeway > now:
            user, iat = hit
        else:
            user, iat = await self._decode(token)
            self._cache[token] = (user, iat)
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        if await self.revocations.is_revoked(user, iat):
            raise Unauthorized("The access token has been revoked.")
        return user

    async def _decode(self, token: str) -> tuple[AuthUser, int]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("The access token is malformed.") from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in ALGORITHMS:
            raise Unauthorized("The access token is not signed by a known key.")
        try:
            key = await self.keys.key_for(kid)
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthorized("The signing keys cannot be fetched right now.") from exc
        if key is None:
            raise Unauthorized("The access token is not signed by a known key.")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[header["alg"]],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The access token has expired.") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("The access token is invalid.") from exc
        if claims.get("typ") not in (None, "access"):
            raise Unauthorized("Not an access token.")
        try:
            user = AuthUser(
                id=uuid.UUID(claims["sub"]),
                username=str(claims.get("username", "")),
                is_staff=bool(claims.get("is_staff", False)),
                jti=str(claims["jti"]),
                exp=int(claims["exp"]),
                token=token,
                sid=str(claims.get("sid") or ""),
            )
        except (ValueError, TypeError) as exc:
            raise Unauthorized("The access token is invalid.") from exc
        return user, int(claims["iat"])


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",  # the one scheme of every document, the gateway's merged one too
    description="An access token from POST /api/v1/auth/login",
)

#: the request's bearer credentials (``None`` without an ``Authorization: Bearer`` header); as a
#: dependency it also declares the ``bearerAuth`` scheme in the service's OpenAPI
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def verifier_of(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


async def current_user(request: Request, credentials: BearerCredentials) -> AuthUser:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("An access token is required.")
    cached: AuthUser | None = request.scope.get("vc_user")
    if cached is not None and cached.token == credentials.credentials:
        return cached
    user = await verifier_of(request).verify(credentials.credentials)
    request.scope["vc_user"] = user
    return user


async def optional_user(request: Request, credentials: BearerCredentials) -> AuthUser | None:
    """The caller when an access token is given (401 if it is bad), else ``None``."""
    if credentials is None or not credentials.credentials:
        return None
    return await current_user(request, credentials)


async def staff_user(user: Annotated[AuthUser, Depends(current_user)]) -> AuthUser:
    if not user.is_staff:
        raise Forbidden("Staff only.")
    return user


CurrentUser = Annotated[AuthUser, Depends(current_user)]
OptionalUser = Annotated[AuthUser | None, Depends(optional_user)]
StaffUser = Annotated[AuthUser, Depends(staff_user)]
