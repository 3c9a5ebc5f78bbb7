"""Signing keys: loaded from identity's database (or ``JWT_PRIVATE_KEYS``), generated at first
start, rotated by ``python -m identity rotate-keys``; the JWKS publishes every live public key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.db import Database

from identity.models import SigningKey

log = logging.getLogger("identity.keys")

# one advisory lock id for "somebody is creating or rotating signing keys"
_LOCK_ID = int.from_bytes(hashlib.sha256(b"identity.signing_keys").digest()[:8], "big", signed=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Ed25519PrivateKey, kid: str) -> dict[str, str]:
    x = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(x), "kid": kid, "alg": "EdDSA", "use": "sig"}


def thumbprint_kid(key: Ed25519PrivateKey) -> str:
    """RFC 7638 JWK thumbprint: the same key always gets the same ``kid``."""
    x = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64(x)}, separators=(",", ":"), sort_keys=True
    )
    return _b64(hashlib.sha256(canonical.encode()).digest())[:22]


def to_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def from_pem(pem: str) -> Ed25519PrivateKey:
    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("only Ed25519 private keys are supported")
    return key


def parse_pem_list(blob: str) -> list[Ed25519PrivateKey]:
    end = "-----END PRIVATE KEY-----"
    parts = [p.strip() + "\n" + end for p in blob.replace("\\n", "\n").split(end) if p.strip()]
    return [from_pem(p) for p in parts]


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    key: Ed25519PrivateKey
    created_at: datetime


class KeyRing:
    """The live keys of this replica. ``signing`` is the newest; all of them verify."""

    def __init__(self, *, pem_keys: str | None = None, reload_seconds: float = 60.0) -> None:
        self._pem_keys = pem_keys
        self.reload_seconds = reload_seconds
        self._keys: list[LoadedKey] = []
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._db: Database | None = None  # the database it was started on

    @property
    def from_env(self) -> bool:
        return bool(self._pem_keys)

    @property
    def keys(self) -> list[LoadedKey]:
        return list(self._keys)

    @property
    def signing(self) -> LoadedKey:
        if not self._keys:
            raise RuntimeError("no signing key loaded")
        return self._keys[-1]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(k.key, k.kid) for k in self._keys]}

    def public_jwk(self, kid: str) -> dict[str, str] | None:
        for k in self._keys:
            if k.kid == kid:
                return public_jwk(k.key, k.kid)
        return None

    async def start(self, db: Database) -> None:
        """Load the keys; in database mode create the first one if there is none."""
        self._db = db
        if self._pem_keys:
            now = datetime.now(UTC)
            self._keys = [
                LoadedKey(thumbprint_kid(k), k, now) for k in parse_pem_list(self._pem_keys)
            ]
            if not self._keys:
                raise ValueError("JWT_PRIVATE_KEYS holds no private key")
            self._loaded_at = float("inf")
            return
        async with db.unit_of_work() as session:
            await ensure_signing_key(session)
        await self.reload(db)

    async def reload(self, db: Database) -> None:
        if self._pem_keys:
            return
        async with self._lock, db.unit_of_work() as session:
            rows = (
                (
                    await session.execute(
                        select(SigningKey)
                        .where(SigningKey.retired_at.is_(None))
                        .order_by(SigningKey.created_at, SigningKey.kid)
                    )
                )
                .scalars()
                .all()
            )
            keys = [LoadedKey(r.kid, from_pem(r.private_key), r.created_at) for r in rows]
            if keys:
                self._keys = keys
            self._loaded_at = time.monotonic()

    async def refresh_if_stale(
        self, db: Database | None = None, max_age: float | None = None
    ) -> None:
        """Reload from ``db`` (default: the database it was started on) when older than
        ``max_age`` (default ``reload_seconds``)."""
        age = time.monotonic() - self._loaded_at
        if age >= (self.reload_seconds if max_age is None else max_age):
            db = db or self._db
            if db is None:
                raise RuntimeError("KeyRing.start was not run (the app's startup does it)")
            await self.reload(db)


async def _lock(session: AsyncSession) -> None:
    # two replicas starting at once, or a rotation during a start: one at a time
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})


async def ensure_signing_key(session: AsyncSession) -> str | None:
    """Create a key when no live key exists. Returns the new kid, if any."""
    await _lock(session)
    live = (
        await session.execute(
            select(SigningKey.kid).where(SigningKey.retired_at.is_(None)).limit(1)
        )
    ).first()
    if live is not None:
        return None
    key = Ed25519PrivateKey.generate()
    kid = thumbprint_kid(key)
    session.add(SigningKey(kid=kid, private_key=to_pem(key)))
    await session.flush()
    log.info("generated the first signing key %s", kid)
    return kid


async def rotate_keys(
    session: AsyncSession, *, access_ttl_seconds: int, leeway_seconds: int = 60
) -> tuple[str, list[str]]:
    """Add a key that signs from now on. Keys older than the previous one are retired once
    their successor has signed for longer than an access token lives (no token they signed can
    still be valid). Returns the new kid and the retired kids."""
    await _lock(session)
    now = datetime.now(UTC)
    key = Ed25519PrivateKey.generate()
    kid = thumbprint_kid(key)
    session.add(SigningKey(kid=kid, private_key=to_pem(key), created_at=now))
    await session.flush()
    live = (
        (
            await session.execute(
                select(SigningKey)
                .where(SigningKey.retired_at.is_(None))
                .order_by(SigningKey.created_at, SigningKey.kid)
            )
        )
        .scalars()
        .all()
    )
    cutoff = now - timedelta(seconds=access_ttl_seconds + leeway_seconds)
    retired: list[str] = []
    # live[-1] is the new key, live[-2] the previous one: both stay
    for older, successor in pairwise(live[:-1]):
        if successor.created_at <= cutoff:
            retired.append(older.kid)
    if retired:
        await session.execute(
            update(SigningKey).where(SigningKey.kid.in_(retired)).values(retired_at=now)
        )
    log.info("rotated signing keys: new %s, retired %s", kid, retired)
    return kid, retired
