"""Redis under a burst: more concurrent commands than the pool has connections wait for one
(they used to raise MaxConnectionsError, a 500 at the gateway), and a Redis that cannot answer
makes the revocation check fail closed with 503 + Retry-After, never let a token through."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import pytest
from vc_common.auth import AuthUser, RedisRevocationStore
from vc_common.errors import ServiceUnavailable
from vc_common.redisclient import redis_client, redis_unavailable

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def _user() -> AuthUser:
    return AuthUser(
        id=uuid.uuid4(),
        username="u",
        is_staff=False,
        jti=uuid.uuid4().hex,
        exp=2_000_000_000,
        token="t",
        sid=uuid.uuid4().hex,
    )


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_burst_past_the_pool_waits_for_a_connection() -> None:
    client = redis_client(REDIS_URL, max_connections=2, timeout=10.0)
    store = RedisRevocationStore(client)
    try:
        users = [_user() for _ in range(300)]
        await store.revoke_token(users[7].jti, exp=2_000_000_000)
        answers = await asyncio.gather(*(store.is_revoked(u, issued_at=1) for u in users))
        assert answers.count(True) == 1
        assert answers[7] is True
        assert len(client.connection_pool._in_use_connections) == 0
        assert client.connection_pool.max_connections == 2
    finally:
        await client.aclose()


async def test_a_saturated_pool_answers_503_after_its_timeout() -> None:
    client = redis_client(REDIS_URL, max_connections=1, timeout=0.2)
    store = RedisRevocationStore(client)
    held = await client.connection_pool.get_connection()  # the only connection, taken
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            await store.is_revoked(_user(), issued_at=1)
        assert caught.value.status == 503
        assert caught.value.headers["Retry-After"] == "1"
        cause = caught.value.__cause__
        assert cause is not None
        assert redis_unavailable(cause)
    finally:
        await client.connection_pool.release(held)
        await client.aclose()


async def test_an_unreachable_redis_fails_closed() -> None:
    client = redis_client(f"redis://127.0.0.1:{_dead_port()}/0", timeout=0.5)
    try:
        with pytest.raises(ServiceUnavailable):
            await RedisRevocationStore(client).is_revoked(_user(), issued_at=1)
    finally:
        await client.aclose()


def test_only_redis_unavailability_is_recognised() -> None:
    from redis.exceptions import ConnectionError, MaxConnectionsError, ResponseError

    assert redis_unavailable(ConnectionError("No connection available."))
    assert redis_unavailable(MaxConnectionsError("Too many connections"))
    assert not redis_unavailable(ResponseError("WRONGTYPE"))
    assert not redis_unavailable(ValueError("x"))
