"""Access tokens (EdDSA JWTs) and refresh tokens (opaque, stored hashed, in families)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context

from identity.auth.schemas import TokenPair
from identity.keys.keyring import KeyRing
from identity.models import RefreshToken, Revocation, User
from identity.settings import Settings, settings_of


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_token(
    keyring: KeyRing,
    settings: Settings,
    user: User,
    *,
    actor: str | None = None,
    ttl_seconds: int | None = None,
    sid: uuid.UUID | None = None,
) -> str:
    """``actor``: the service acting for ``user`` (token exchange): the RFC 8693 ``act`` claim."""
    now = int(time.time())
    key = keyring.signing
    claims: dict[str, object] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user.id),
        "username": user.username,
        "is_staff": user.is_staff,
        "iat": now,
        "exp": now + (ttl_seconds or settings.access_token_ttl_seconds),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    if actor is not None:
        claims["act"] = {"sub": actor}
    if sid is not None:
        claims["sid"] = str(sid)  # the sign-in: logout or a reused refresh token kills them all
    return jwt.encode(claims, key.key, algorithm="EdDSA", headers={"kid": key.kid})


#: a user's revocation is younger than this when a token for them can still fall in its second
_RECENT = timedelta(seconds=5)


async def outwait_revocation(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Access tokens carry whole seconds (``iat``), so a user's revocation kills every token
    issued up to the end of the second it was made in (its cutoff is that second + 1). A token
    issued for that user in the rest of that second would be born revoked: wait that rest out
    (under a second, and only right after the user's own revocation; one indexed look-up of
    the last seconds' revocations otherwise)."""
    cutoff = await session.scalar(
        select(func.max(Revocation.value)).where(
            Revocation.created_at > datetime.now(UTC) - _RECENT,
            Revocation.kind == "user",
            Revocation.key == str(user_id),
        )
    )
    if cutoff is not None:
        wait = cutoff - time.time()
        if 0 < wait <= _RECENT.total_seconds():
            # + 20 ms: the loop sleeps by the monotonic clock, the token is stamped by the wall
            # clock; waking a hair before the second by the wall clock (slewed meanwhile) issued
            # a token born revoked (seen once in CI: a re-login right after a demotion got 401)
            await asyncio.sleep(wait + 0.02)


async def issue_pair(
    ctx: Context, keyring: KeyRing, user: User, *, family_id: uuid.UUID | None = None
) -> TokenPair:
    """A new access token (its times are the wall clock's, as every verifier's are) and refresh
    token (expiring by ``ctx.now()``, the clock its rotation is judged by)."""
    settings = settings_of(ctx)
    refresh = new_secret()
    ttl = timedelta(days=settings.refresh_token_ttl_days)
    family_id = family_id or uuid.uuid4()
    ctx.session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=digest(refresh),
            expires_at=ctx.now() + ttl,
        )
    )
    await ctx.session.flush()
    await outwait_revocation(ctx.session, user.id)
    return TokenPair(
        access_token=access_token(keyring, settings, user, sid=family_id),
        refresh_token=refresh,
        expires_in=settings.access_token_ttl_seconds,
        refresh_expires_in=int(ttl.total_seconds()),
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def revoke_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
