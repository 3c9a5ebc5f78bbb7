"""The ``KeySource`` identity verifies its own tokens with: the in-process key ring, reloaded
from the database when a token names a kid it does not know (another replica rotated)."""

from __future__ import annotations

import time

import jwt
from vc_common.db import Database

from identity.keys.keyring import KeyRing


class KeyRingSource:
    def __init__(self, keyring: KeyRing, db: Database, *, min_reload: float = 5.0) -> None:
        self.keyring = keyring
        self.db = db
        self.min_reload = min_reload
        self._last_miss = float("-inf")

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        jwk = self.keyring.public_jwk(kid)
        # an unknown kid: re-read the database, at most once every `min_reload` seconds so a
        # flood of forged kids cannot hammer it
        if jwk is None and time.monotonic() - self._last_miss >= self.min_reload:
            self._last_miss = time.monotonic()
            await self.keyring.reload(self.db)
            jwk = self.keyring.public_jwk(kid)
        return jwt.PyJWK(jwk) if jwk is not None else None
