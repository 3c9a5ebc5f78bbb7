"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256, authenticated) under a MultiFernet.

The first key of ``INTEGRATIONS_ENCRYPTION_KEYS`` encrypts; every key decrypts. Rotation: put a
new key first, run ``python -m integrations rotate-keys`` (re-encrypts every stored secret with
the new key, in batches, each row under its lock), then remove the old key.

A :class:`Secret` never shows its value in ``repr``/``str`` (so a log line or a traceback of a
local variable cannot carry a token); ``reveal()`` is the one way to read it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class TokenCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("INTEGRATIONS_ENCRYPTION_KEYS needs at least one Fernet key")
        try:
            self._fernets = [Fernet(k.encode()) for k in keys]
        except ValueError as exc:
            raise ValueError(
                "INTEGRATIONS_ENCRYPTION_KEYS: each key must be a url-safe base64 32-byte key "
                "(Fernet.generate_key())"
            ) from exc
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, value: str | Secret | None) -> str | None:
        if value is None:
            return None
        plain = value.reveal() if isinstance(value, Secret) else value
        return self._multi.encrypt(plain.encode()).decode()

    def decrypt(self, stored: str | None) -> Secret | None:
        if stored is None:
            return None
        try:
            return Secret(self._multi.decrypt(stored.encode()).decode())
        except InvalidToken as exc:
            raise ValueError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from exc

    def rotate(self, stored: str | None) -> str | None:
        """``stored`` re-encrypted under the first key (unchanged plaintext)."""
        if stored is None:
            return None
        return self._multi.rotate(stored.encode()).decode()

    def is_current(self, stored: str) -> bool:
        """Whether ``stored`` is already encrypted under the first key."""
        try:
            self._fernets[0].decrypt(stored.encode())
        except InvalidToken:
            return False
        return True
