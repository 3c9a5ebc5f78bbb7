"""Access-token verification against identity's JWKS, and the ``CurrentUser`` dependency.

Every service verifies tokens itself (not only the gateway). Keys come from the JWKS, cached and
refreshed when a token names an unknown ``kid`` (key rotation without logging anyone out).
Verified tokens are cached until they expire, so a hot path pays the signature check once.
Revocation (logout, password change, deactivation) is checked on every request through a
:class:`RevocationStore`: Redis when ``REDIS_URL`` is set, process memory otherwise.
"""

from __future__ import annotations

import asyncio
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

from vc_common.errors import Forbidden, Unauthorized

ALGORITHMS = ["EdDSA", "RS256"]


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: uuid.UUID
    username: str
    is_staff: bool
    jti: str
    exp: int
    token: str


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
    async def revoke_user(self, user_id: uuid.UUID, before: int) -> None: ...
    async def is_revoked(self, user: AuthUser, issued_at: int) -> bool: ...


class MemoryRevocationStore:
    """Single-node revocation (no REDIS_URL)."""

    def __init__(self) -> None:
        self._tokens: dict[str, int] = {}
        self._users: dict[uuid.UUID, int] = {}

    async def revoke_token(self, jti: str, exp: int) -> None:
        self._tokens[jti] = exp
        now = int(time.time())
        if len(self._tokens) > 10_000:
            self._tokens = {k: v for k, v in self._tokens.items() if v > now}

    async def revoke_user(self, user_id: uuid.UUID, before: int) -> None:
        self._users[user_id] = before

    async def is_revoked(self, user: AuthUser, issued_at: int) -> bool:
        if user.jti in self._tokens:
            return True
        cutoff = self._users.get(user.id)
        return cutoff is not None and issued_at < cutoff


class RedisRevocationStore:
    """Revocations shared by every replica of every service. Keys expire with the tokens."""

    ACCESS_TTL = 15 * 60 + 60

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def revoke_token(self, jti: str, exp: int) -> None:
        ttl = max(1, exp - int(time.time()))
        await self.redis.set(f"vc:revoked:jti:{jti}", 1, ex=ttl)

    async def revoke_user(self, user_id: uuid.UUID, before: int) -> None:
        await self.redis.set(f"vc:revoked:user:{user_id}", before, ex=self.ACCESS_TTL)

    async def is_revoked(self, user: AuthUser, issued_at: int) -> bool:
        jti_hit, cutoff = await self.redis.mget(
            f"vc:revoked:jti:{user.jti}", f"vc:revoked:user:{user.id}"
        )
        if jti_hit is not None:
            return True
        return cutoff is not None and issued_at < int(cutoff)


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


_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/login")


def verifier_of(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthUser:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("An access token is required.")
    cached: AuthUser | None = request.scope.get("vc_user")
    if cached is not None and cached.token == credentials.credentials:
        return cached
    user = await verifier_of(request).verify(credentials.credentials)
    request.scope["vc_user"] = user
    return user


async def staff_user(user: Annotated[AuthUser, Depends(current_user)]) -> AuthUser:
    if not user.is_staff:
        raise Forbidden("Staff only.")
    return user


CurrentUser = Annotated[AuthUser, Depends(current_user)]
StaffUser = Annotated[AuthUser, Depends(staff_user)]

VerifyFn = Callable[[str], Awaitable[AuthUser]]
