from __future__ import annotations

import os
import uuid

import pytest
import redis.asyncio as aioredis
from vc_common.errors import TooManyRequests
from vc_common.ratelimit import MemoryRateLimiter, Rate, RedisRateLimiter, enforce


def test_rate_parse() -> None:
    assert Rate.parse("10/minute") == Rate(10, 60.0)
    assert Rate.parse("5/second") == Rate(5, 1.0)
    assert Rate.parse("30/15s") == Rate(30, 15.0)


async def test_memory_limiter_blocks_after_limit() -> None:
    lim = MemoryRateLimiter()
    rate = Rate(3, 60)
    for _ in range(3):
        await enforce(lim, "k", rate)
    with pytest.raises(TooManyRequests) as info:
        await enforce(lim, "k", rate)
    assert 1 <= int(info.value.headers["Retry-After"]) <= 60
    await enforce(lim, "other", rate)


async def test_redis_limiter_is_shared_between_instances() -> None:
    client = aioredis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        a, b = RedisRateLimiter(client), RedisRateLimiter(client)
        key = f"test-{uuid.uuid4().hex}"
        rate = Rate(2, 30)
        assert await a.hit(key, rate) is None
        assert await b.hit(key, rate) is None
        wait = await a.hit(key, rate)
        assert wait is not None
        assert 0 < wait <= 30
    finally:
        await client.aclose()
