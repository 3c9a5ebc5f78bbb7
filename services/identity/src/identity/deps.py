"""Dependency aliases over what the lifespan keeps on ``app.state``."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from vc_common.auth import RevocationStore
from vc_common.ratelimit import RateLimiter

from identity.auth.passwords import Passwords
from identity.keys.keyring import KeyRing
from identity.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _settings_dep(request: Request) -> Settings:
    # async: FastAPI runs a plain `def` dependency in its thread pool, on every request
    return get_settings(request)


async def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


async def get_keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_revocations(request: Request) -> RevocationStore:
    store: RevocationStore = request.app.state.revocations
    return store


def client_ip(request: Request) -> str:
    """The caller's address. ``X-Forwarded-For`` counts only when the peer is a trusted proxy;
    then the right-most address that is not itself a trusted proxy is the client."""
    settings = get_settings(request)
    peer = request.client.host if request.client else "unknown"

    def trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in settings.trusted_networks)

    if not trusted(peer):
        return peer
    forwarded = [
        p.strip()
        for h in request.headers.getlist("x-forwarded-for")
        for p in h.split(",")
        if p.strip()
    ]
    for addr in reversed(forwarded):
        if not trusted(addr):
            try:
                return str(ipaddress.ip_address(addr))
            except ValueError:
                return peer  # garbage in the header: fall back to the proxy itself
    return forwarded[0] if forwarded else peer


async def _client_ip_dep(request: Request) -> str:
    return client_ip(request)


SettingsDep = Annotated[Settings, Depends(_settings_dep)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
RevocationsDep = Annotated[RevocationStore, Depends(get_revocations)]
ClientIP = Annotated[str, Depends(_client_ip_dep)]
