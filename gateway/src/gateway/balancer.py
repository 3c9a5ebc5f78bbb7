"""A service's replicas and the choice among them.

Round-robin: every HTTP request takes the next replica, every WebSocket connection the next one
of its own rotation (so long-lived sockets spread evenly whatever the HTTP traffic does). A
replica that refused a connection (or did not accept one within the connect timeout) is marked
down for ``down_for`` seconds: it goes to the end of the order until then, and the request that
never reached it is sent to the next replica. When every replica is down they are all tried
anyway, in turn: a marking is a hint, never a reason to refuse a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from gateway.routes import Service
from gateway.upstream import UpstreamPool

log = logging.getLogger("gateway.balancer")


@dataclass(eq=False, slots=True)
class Replica:
    index: int
    label: str  # "chat#1" when the service has several replicas, else "chat"
    base_url: str
    # (fast pool, Host header) when the fast client can talk to it (plain http, no path)
    fast: tuple[UpstreamPool, bytes] | None = None
    down_until: float = 0.0


@dataclass(eq=False, slots=True)
class Upstream:
    """One service: its replicas, one aiohttp session for all of them, the two rotations."""

    service: Service
    replicas: list[Replica]
    session: aiohttp.ClientSession
    down_for: float = 5.0
    _next_http: int = 0
    _next_ws: int = 0
    _clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @property
    def several(self) -> bool:
        return len(self.replicas) > 1

    @property
    def fast(self) -> bool:
        """Whether every replica can be served by the fast client."""
        return all(r.fast is not None for r in self.replicas)

    def order(self, *, websocket: bool = False) -> list[Replica]:
        """The replicas to try for one request (or one WebSocket), in order: round-robin from
        the next one, those marked down last."""
        replicas = self.replicas
        if len(replicas) == 1:
            return replicas
        if websocket:
            turn, self._next_ws = self._next_ws, self._next_ws + 1
        else:
            turn, self._next_http = self._next_http, self._next_http + 1
        now = self._now()
        up = [r for r in replicas if r.down_until <= now]
        if len(up) == len(replicas):
            start = turn % len(replicas)
            return replicas[start:] + replicas[:start]
        # The rotation goes over the replicas that are up (evenly), the others come last.
        down = [r for r in replicas if r.down_until > now]
        if up:
            start = turn % len(up)
            up = up[start:] + up[:start]
        else:
            start = turn % len(down)
            down = down[start:] + down[:start]
        return up + down

    def mark_down(self, replica: Replica, reason: object) -> None:
        if replica.down_until <= self._now():
            log.warning(
                "%s (%s) marked down for %gs: %s",
                replica.label,
                replica.base_url,
                self.down_for,
                reason,
            )
        replica.down_until = self._now() + self.down_for

    def mark_up(self, replica: Replica) -> None:
        if replica.down_until:
            replica.down_until = 0.0

    def _now(self) -> float:
        return self._clock()

    async def close(self) -> None:
        for replica in self.replicas:
            if replica.fast is not None:
                await replica.fast[0].close()
        await self.session.close()
