"""Rate limits: a sliding-window counter per key, in Redis when ``REDIS_URL`` is set (shared by
every replica), in process memory otherwise. Exceeding a limit raises ``TooManyRequests`` (429
with ``Retry-After``)."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from vc_common.errors import TooManyRequests


@dataclass(frozen=True)
class Rate:
    limit: int
    period: float  # seconds

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/minute"``, ``"5/second"``, ``"100/hour"``, ``"30/15s"``."""
        count, _, unit = text.partition("/")
        units = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
        if unit in units:
            return cls(int(count), units[unit])
        return cls(int(count), float(unit.rstrip("s")))


class RateLimiter(Protocol):
    async def hit(self, key: str, rate: Rate) -> float | None:
        """Count one hit; ``None`` when allowed, else the seconds until one is allowed."""


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    async def hit(self, key: str, rate: Rate) -> float | None:
        now = time.monotonic()
        q = self._hits.setdefault(key, deque())
        while q and q[0] <= now - rate.period:
            q.popleft()
        if len(q) >= rate.limit:
            return q[0] + rate.period - now
        q.append(now)
        if len(self._hits) > 50_000:
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 3600}
        return None

    def reset(self) -> None:
        self._hits.clear()


_LUA = """
local key, now, period, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
  tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
local n = redis.call('ZCARD', key)
if n >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + period - now)
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, math.ceil(period * 1000))
return false
"""


class RedisRateLimiter:
    def __init__(self, redis: Any, prefix: str = "vc:rl:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_LUA)
        self._seq = 0

    async def hit(self, key: str, rate: Rate) -> float | None:
        self._seq += 1
        now = time.time()
        res = await self._script(
            keys=[self.prefix + key],
            args=[now, rate.period, rate.limit, f"{now}:{id(self)}:{self._seq}"],
        )
        return None if res is None else float(res)


async def enforce(limiter: RateLimiter, key: str, rate: Rate) -> None:
    wait = await limiter.hit(key, rate)
    if wait is not None:
        raise TooManyRequests(retry_after=max(1, math.ceil(wait)))
