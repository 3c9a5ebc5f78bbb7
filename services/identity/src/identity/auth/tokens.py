"""Access tokens (EdDSA JWTs) and refresh tokens (opaque, stored hashed, in families)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from identity.auth.schemas import TokenPair
from identity.keys.keyring import KeyRing
from identity.models import RefreshToken, User
from identity.settings import Settings


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_token(keyring: KeyRing, settings: Settings, user: User) -> str:
    now = int(time.time())
    key = keyring.signing
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user.id),
        "username": user.username,
        "is_staff": user.is_staff,
        "iat": now,
        "exp": now + settings.access_token_ttl_seconds,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(claims, key.key, algorithm="EdDSA", headers={"kid": key.kid})


async def issue_pair(
    session: AsyncSession,
    keyring: KeyRing,
    settings: Settings,
    user: User,
    *,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    refresh = new_secret()
    ttl = timedelta(days=settings.refresh_token_ttl_days)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=digest(refresh),
            expires_at=datetime.now(UTC) + ttl,
        )
    )
    await session.flush()
    return TokenPair(
        access_token=access_token(keyring, settings, user),
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
