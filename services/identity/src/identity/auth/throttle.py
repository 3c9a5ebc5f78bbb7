"""Login throttling that slows the attacker, not the victim.

Failed sign-ins are counted per address and per (account, address). Past a few free failures
each further one doubles the wait before that key may try again (1 s, 2 s, 4 s ... up to 15
minutes); a success clears the (account, address) count. Nothing is counted per account alone, so
someone guessing an account's password from their address never locks its owner out at another
one. Counts live in Redis when ``REDIS_URL`` is set (every replica shares them), else in memory.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from vc_common.errors import TooManyRequests

#: a key's failures are forgotten this long after the last one
MEMORY = 3600


@dataclass(frozen=True)
class Backoff:
    free: int  # failures before any wait
    base: float = 1.0  # the first wait, doubled by every further failure
    cap: float = 900.0

    def wait_after(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** (failures - self.free)))


class FailureCounter(Protocol):
    async def blocked_for(self, key: str) -> float:
        """Seconds before ``key`` may try again (0: now)."""

    async def failed(self, key: str, backoff: Backoff) -> None: ...

    async def clear(self, key: str) -> None: ...


class MemoryFailureCounter:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[int, float, float]] = {}  # key -> (failures, until, last)

    async def blocked_for(self, key: str) -> float:
        row = self._rows.get(key)
        return max(0.0, row[1] - time.time()) if row is not None else 0.0

    async def failed(self, key: str, backoff: Backoff) -> None:
        now = time.time()
        n, _, last = self._rows.get(key, (0, 0.0, now))
        n = 1 if now - last > MEMORY else n + 1
        self._rows[key] = (n, now + backoff.wait_after(n), now)
        if len(self._rows) > 100_000:
            self._rows = {k: v for k, v in self._rows.items() if now - v[2] < MEMORY}

    async def clear(self, key: str) -> None:
        self._rows.pop(key, None)


class RedisFailureCounter:
    """A hash per key: ``n`` failures and ``until`` (unix seconds); expires an hour after the
    last failure."""

    def __init__(self, redis: Any, prefix: str = "vc:login:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def blocked_for(self, key: str) -> float:
        until = await self.redis.hget(self.prefix + key, "until")
        return max(0.0, float(until) - time.time()) if until is not None else 0.0

    async def failed(self, key: str, backoff: Backoff) -> None:
        k = self.prefix + key
        n = int(await self.redis.hincrby(k, "n", 1))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(k, "until", time.time() + backoff.wait_after(n))
            pipe.expire(k, MEMORY)
            await pipe.execute()

    async def clear(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)


class LoginThrottle:
    def __init__(self, counter: FailureCounter, *, per_address: Backoff, per_pair: Backoff) -> None:
        self.counter = counter
        self.per_address = per_address
        self.per_pair = per_pair

    @staticmethod
    def _keys(account: str, ip: str) -> tuple[str, str]:
        return f"ip:{ip}", f"pair:{account}:{ip}"

    async def check(self, account: str, ip: str) -> None:
        """429 with ``Retry-After`` while this address, or this address for this account, waits."""
        wait = max([await self.counter.blocked_for(k) for k in self._keys(account, ip)])
        if wait > 0:
            raise TooManyRequests(
                retry_after=max(1, math.ceil(wait)),
                detail="Too many failed sign-ins from this address; wait before trying again.",
            )

    async def failed(self, account: str, ip: str) -> None:
        by_ip, pair = self._keys(account, ip)
        await self.counter.failed(by_ip, self.per_address)
        await self.counter.failed(pair, self.per_pair)

    async def succeeded(self, account: str, ip: str) -> None:
        await self.counter.clear(self._keys(account, ip)[1])
