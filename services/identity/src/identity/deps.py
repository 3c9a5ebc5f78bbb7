"""What identity's endpoints take from the app besides the request's ``Context`` (which holds
the session, the actor, the clock and the settings): the objects the service functions are given
explicitly (passwords, keys, the rate limiter, the revocation store), the client's address, and
the context of the routes that sign nobody in."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from vc_common.context import Context, context_for
from vc_common.ratelimit import RateLimiter
from vc_common.uow import SessionDep

from identity.auth.passwords import Passwords
from identity.auth.throttle import (
    Backoff,
    LoginThrottle,
    MemoryFailureCounter,
    RedisFailureCounter,
)
from identity.keys.keyring import KeyRing
from identity.revocations import SessionRevocations
from identity.settings import Settings


async def anonymous_context(request: Request, session: SessionDep) -> Context:
    """No actor, whatever the request carries: register, login, refresh, logout and verify
    are open, and a stale bearer token sent along is no reason to refuse them."""
    return context_for(request.app, session)


async def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


async def get_keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_throttle(request: Request) -> LoginThrottle:
    settings: Settings = request.app.state.settings
    counter = getattr(request.app.state, "login_failures", None)
    if counter is None:
        redis = request.app.state.redis
        counter = RedisFailureCounter(redis) if redis is not None else MemoryFailureCounter()
        request.app.state.login_failures = counter
    cap = settings.login_backoff_max_seconds
    return LoginThrottle(
        counter,
        per_address=Backoff(settings.login_free_failures_per_address, cap=cap),
        per_pair=Backoff(settings.login_free_failures_per_pair, cap=cap),
    )


async def get_revocations(request: Request, session: SessionDep) -> SessionRevocations:
    """Revocations written in the request's transaction and applied to the app's store."""
    settings: Settings = request.app.state.settings
    return SessionRevocations(
        session, request.app.state.revocations, settings.access_token_ttl_seconds
    )


def client_ip(request: Request) -> str:
    """The caller's address. ``X-Forwarded-For`` counts only when the peer is a trusted proxy;
    then the right-most address that is not itself a trusted proxy is the client."""
    settings: Settings = request.app.state.settings
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


AnonymousContext = Annotated[Context, Depends(anonymous_context)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
RevocationsDep = Annotated[SessionRevocations, Depends(get_revocations)]
ClientIP = Annotated[str, Depends(_client_ip_dep)]
