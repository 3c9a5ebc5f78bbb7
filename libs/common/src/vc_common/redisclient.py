"""One way to open Redis: a bounded pool that makes a burst wait for a connection.

``redis.asyncio.from_url`` gives a ``ConnectionPool`` that *raises* ``MaxConnectionsError`` once
its 100 connections are in use: under a burst (the gateway checking revocations for 300 requests
at once, found by meetings_bench) every request past the hundredth became a 500. A
``BlockingConnectionPool`` queues the request for a free connection instead, up to ``timeout``
seconds, and only then fails, with ``redis.exceptions.ConnectionError`` ("No connection
available."), which :func:`redis_unavailable` recognises, so the caller answers 503 with
``Retry-After`` rather than 500. Redis answers a command in tens of microseconds, so a few dozen
connections serve thousands of requests a second; the pool is not what limits throughput.
"""

from __future__ import annotations

from typing import Any

#: the seconds a client is asked to wait when Redis cannot be reached or is saturated
RETRY_AFTER_REDIS = 1


def redis_client(url: str, *, max_connections: int = 64, timeout: float = 2.0) -> Any:
    """A ``redis.asyncio.Redis`` on a blocking pool of at most ``max_connections``."""
    import redis.asyncio as aioredis

    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout
    )
    return aioredis.Redis(connection_pool=pool)


def redis_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` is Redis being unreachable, gone or saturated (retry soon), as opposed to
    a bad command (a bug)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError)
