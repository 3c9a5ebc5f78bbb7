"""Fan-out between the replicas of a socket service: NATS core subjects, Redis pub/sub, or
in-process (chat's room sockets and realtime's live socket use it alike).

Every replica subscribes to the subjects it holds sockets for; a change is published once, after
its commit, and each replica pushes it to its own sockets. Nothing here is durable: a frame lost
on the way is repaired by the service from its database (chat's ``RoomChannel``, realtime's
``stream_log``). ``name`` (the service) names the connections, tasks and channels.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("vc.fanout")

Handler = Callable[[bytes], Awaitable[None]]


class Fanout(abc.ABC):
    kind: str

    async def start(self) -> None:  # noqa: B027 - optional
        """Connect (called once, at startup)."""

    async def close(self) -> None:  # noqa: B027 - optional
        """Disconnect."""

    @abc.abstractmethod
    async def publish(self, subject: str, data: bytes) -> None: ...

    @abc.abstractmethod
    async def subscribe(self, subject: str, handler: Handler) -> Any:
        """Subscribe; returns when the subscription is active (so nothing published after the
        call returns is missed). The handler is called in publish order, one at a time."""

    @abc.abstractmethod
    async def unsubscribe(self, token: Any) -> None: ...

    async def healthy(self) -> bool:
        return True


class LocalFanout(Fanout):
    """One process: publish calls the subscribers directly (still in order, one at a time)."""

    kind = "local"

    def __init__(self) -> None:
        self._subs: dict[str, dict[int, Handler]] = {}
        self._next = 0
        self._lock = asyncio.Lock()

    async def publish(self, subject: str, data: bytes) -> None:
        async with self._lock:  # one delivery at a time, in publish order
            for handler in list(self._subs.get(subject, {}).values()):
                try:
                    await handler(data)
                except Exception:
                    log.exception("fan-out handler failed on %s", subject)

    async def subscribe(self, subject: str, handler: Handler) -> Any:
        self._next += 1
        self._subs.setdefault(subject, {})[self._next] = handler
        return (subject, self._next)

    async def unsubscribe(self, token: Any) -> None:
        subject, n = token
        subs = self._subs.get(subject, {})
        subs.pop(n, None)
        if not subs:
            self._subs.pop(subject, None)


class NatsFanout(Fanout):
    """NATS core (not JetStream): at most once, in order per publisher, sub-millisecond."""

    kind = "nats"

    def __init__(self, url: str, name: str = "vc") -> None:
        self.url = url
        self.name = f"{name}-fanout"
        self._nc: Any = None

    async def start(self) -> None:
        import nats

        async def on_error(exc: Exception) -> None:
            log.warning("nats fan-out: %s", exc)

        self._nc = await nats.connect(
            self.url,
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=on_error,
            pending_size=64 * 1024 * 1024,
        )

    async def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
            self._nc = None

    async def publish(self, subject: str, data: bytes) -> None:
        await self._nc.publish(subject, data)

    async def subscribe(self, subject: str, handler: Handler) -> Any:
        async def cb(msg: Any) -> None:
            try:
                await handler(msg.data)
            except Exception:
                log.exception("fan-out handler failed on %s", subject)

        sub = await self._nc.subscribe(
            subject, cb=cb, pending_msgs_limit=1_000_000, pending_bytes_limit=512 * 1024 * 1024
        )
        await self._nc.flush(timeout=5)  # the server has the subscription when this returns
        return sub

    async def unsubscribe(self, token: Any) -> None:
        with contextlib.suppress(Exception):
            await token.unsubscribe()

    async def healthy(self) -> bool:
        return bool(self._nc is not None and self._nc.is_connected)


class RedisFanout(Fanout):
    """Redis pub/sub on a dedicated connection; one reader task dispatches in order."""

    kind = "redis"

    def __init__(self, url: str, name: str = "vc") -> None:
        self.url = url
        self.name = name
        self._redis: Any = None
        self._pubsub: Any = None
        self._handlers: dict[str, dict[int, Handler]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None
        self._next = 0
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        from vc_common.redisclient import redis_client

        self._redis = redis_client(self.url)  # publishes from a burst wait for a connection
        self._pubsub = self._redis.pubsub()
        # a subscription keeps the connection in pub/sub mode; hold one from the start
        await self._pubsub.subscribe(f"__{self.name}_fanout_keepalive__")
        self._reader = asyncio.create_task(self._read(), name=f"{self.name}-redis-fanout")

    async def _read(self) -> None:
        while True:
            try:
                msg = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis fan-out read failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if msg is None:
                continue
            channel = (
                msg["channel"].decode()
                if isinstance(msg["channel"], bytes)
                else str(msg["channel"])
            )
            if msg["type"] == "subscribe":
                ev = self._confirmed.get(channel)
                if ev is not None:
                    ev.set()
                continue
            if msg["type"] != "message":
                continue
            for handler in list(self._handlers.get(channel, {}).values()):
                try:
                    await handler(msg["data"])
                except Exception:
                    log.exception("fan-out handler failed on %s", channel)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()

    async def publish(self, subject: str, data: bytes) -> None:
        await self._redis.publish(subject, data)

    async def subscribe(self, subject: str, handler: Handler) -> Any:
        async with self._lock:
            self._next += 1
            token = (subject, self._next)
            first = subject not in self._handlers
            self._handlers.setdefault(subject, {})[self._next] = handler
            if first:
                ev = self._confirmed[subject] = asyncio.Event()
                await self._pubsub.subscribe(subject)
            else:
                ev = self._confirmed[subject]
        await asyncio.wait_for(ev.wait(), timeout=5)
        return token

    async def unsubscribe(self, token: Any) -> None:
        subject, n = token
        async with self._lock:
            subs = self._handlers.get(subject, {})
            subs.pop(n, None)
            if not subs:
                self._handlers.pop(subject, None)
                self._confirmed.pop(subject, None)
                with contextlib.suppress(Exception):
                    await self._pubsub.unsubscribe(subject)

    async def healthy(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False


def make_fanout(settings: Any, name: str) -> Fanout:
    """The fan-out ``settings.fanout_kind`` names, for service ``name`` (its ``<NAME>_FANOUT``)."""
    kind = settings.fanout_kind
    setting = f"{name.upper()}_FANOUT"
    if kind == "nats":
        url = settings.fanout_nats_url
        if not url:
            raise RuntimeError(f"{setting}=nats needs NATS_URL or a nats:// EVENT_BUS_URL")
        return NatsFanout(url, name)
    if kind == "redis":
        if not settings.redis_url:
            raise RuntimeError(f"{setting}=redis needs REDIS_URL")
        return RedisFanout(settings.redis_url, name)
    return LocalFanout()
