"""Open sockets close when their token is revoked: pushed by the revocation store (Redis
pub/sub, or the feed's poll of identity's list), the periodic look-up only as a backstop."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from vc_common.auth import (
    AuthUser,
    MemoryRevocationStore,
    RedisRevocationStore,
    StaticKeySource,
    TokenVerifier,
)
from vc_common.sockets.session import CLOSE_UNAUTHORIZED, SocketAuth, socket_index
from vc_common.testing.keys import TestSigner

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


class Conn:
    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = asyncio.Event()

    def send(self, text: str) -> None:
        del text

    def kill(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self.closed.set()


def verifier_on(store: Any, signer: TestSigner) -> TokenVerifier:
    return TokenVerifier(
        StaticKeySource(signer.jwks),
        issuer=signer.issuer,
        audience=signer.audience,
        revocations=store,
    )


async def socket(
    verifier: TokenVerifier, signer: TestSigner, uid: uuid.UUID, check: float = 60, **claims: Any
) -> SocketAuth:
    """A socket opened with a fresh token of ``uid`` (verified as the handshake does)."""
    user = await verifier.verify(signer.token(uid, **claims))
    auth = SocketAuth(Conn(), verifier, user, check_interval=check)
    auth.start()
    return auth


def closed_by(auth: SocketAuth) -> asyncio.Event:
    conn = auth.conn
    assert isinstance(conn, Conn)
    return conn.closed


async def test_a_pushed_revocation_closes_exactly_the_sockets_it_names(signer: TestSigner) -> None:
    store = MemoryRevocationStore()  # a RevocationFeed is one, applied by its poll
    verifier = verifier_on(store, signer)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    sockets = {
        "alice-1": await socket(verifier, signer, alice, sid="s-1"),
        "alice-2": await socket(verifier, signer, alice, sid="s-2"),
        "bob": await socket(verifier, signer, bob),
    }
    try:
        assert len(socket_index(verifier)) == 3
        assert sockets["alice-2"].user.sid == "s-2"

        await store.revoke_token(sockets["alice-1"].user.jti, sockets["alice-1"].exp)  # logout
        closed = {n for n, a in sockets.items() if a.conn.close_code == CLOSE_UNAUTHORIZED}
        assert closed == {"alice-1"}  # at once: no look-up, no timer

        await store.revoke_user(bob, int(time.time()) - 3600)  # a cutoff before bob's token
        assert sockets["bob"].conn.close_code is None
        await store.revoke_session("s-2", int(time.time()) + 900)  # a sign-in ended
        assert sockets["alice-2"].conn.close_code == CLOSE_UNAUTHORIZED
        await store.revoke_user(bob, int(time.time()) + 1)  # deactivated: every earlier token
        assert sockets["bob"].conn.close_code == CLOSE_UNAUTHORIZED
        assert closed_by(sockets["bob"]).is_set()

        heard: list[tuple[str, str, int]] = []
        store.watch(lambda *r: heard.append(r))
        store.apply("jti", sockets["alice-1"].user.jti, sockets["alice-1"].exp)  # polled again
        store.apply("user", str(bob), int(time.time()) - 60)  # an older cutoff
        assert heard == []  # nothing new: no listener woken
    finally:
        for a in sockets.values():
            await a.stop()
    assert len(socket_index(verifier)) == 0


async def test_a_refreshed_socket_is_found_by_its_new_token(signer: TestSigner) -> None:
    store = MemoryRevocationStore()
    verifier = verifier_on(store, signer)
    uid = uuid.uuid4()
    auth = await socket(verifier, signer, uid)
    try:
        old = auth.user
        assert await auth.refresh(signer.token(uid))  # the client's {"type": "auth"} frame
        assert auth.user.jti != old.jti
        await store.revoke_token(old.jti, old.exp)  # the old token: not this socket's any more
        assert auth.conn.close_code is None
        await store.revoke_token(auth.user.jti, auth.exp)
        assert auth.conn.close_code == CLOSE_UNAUTHORIZED
    finally:
        await auth.stop()


async def test_a_store_that_pushes_nothing_is_still_looked_up_periodically(
    signer: TestSigner,
) -> None:
    class LookUpOnly:  # a store without watch(): only the guard's timer finds the revocation
        def __init__(self) -> None:
            self.dead: set[str] = set()

        async def is_revoked(self, user: AuthUser, issued_at: int) -> bool:
            del issued_at
            return user.jti in self.dead

    store = LookUpOnly()
    auth = await socket(verifier_on(store, signer), signer, uuid.uuid4(), check=0.1)
    try:
        store.dead.add(auth.user.jti)
        async with asyncio.timeout(5):
            await closed_by(auth).wait()
        assert auth.conn.close_code == CLOSE_UNAUTHORIZED
    finally:
        await auth.stop()


async def test_redis_publishes_each_revocation_to_every_watching_process(
    signer: TestSigner,
) -> None:
    writer_client, reader_client = aioredis.from_url(REDIS_URL), aioredis.from_url(REDIS_URL)
    identity_side = RedisRevocationStore(writer_client)
    socket_side = RedisRevocationStore(reader_client)  # another replica's store
    auth = await socket(verifier_on(socket_side, signer), signer, uuid.uuid4())
    try:
        await asyncio.sleep(0.3)  # the subscriber is subscribed
        started = time.monotonic()
        await identity_side.revoke_token(auth.user.jti, auth.exp)
        async with asyncio.timeout(5):
            await closed_by(auth).wait()
        assert auth.conn.close_code == CLOSE_UNAUTHORIZED
        assert time.monotonic() - started < 1.0  # pushed, not the 60 s look-up
    finally:
        await auth.stop()
        await socket_side.close()
        await writer_client.aclose()
        await reader_client.aclose()
