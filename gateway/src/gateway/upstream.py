"""A small HTTP/1.1 client for the gateway's hot path: keep-alive connections to one upstream
service, on asyncio Protocols, responses parsed by ``httptools`` (llhttp, as in uvicorn).

It does only what the proxy needs: send one request whose head and (buffered) body are already
bytes, and read the answer: status, reason, raw headers, then the body, either whole (a
``Content-Length`` up to the buffer limit, or no body) or as a stream of chunks with flow control
(chunked, or larger). Anything else (streamed uploads, ``HEAD``, WebSockets) stays with aiohttp's
client in ``gateway.proxy``.

Timeouts are aiohttp's ``sock_connect`` and ``sock_read``: connecting, and between two reads. A
request that fails on a connection taken from the pool before any byte of the answer came back
(the service closed it while idle) is sent again once on a new connection when the method is
idempotent (or the request carries an ``Idempotency-Key``, which makes the service answer a
retry with its first answer). A connection is never reused after an answer that closes it
(``Connection: close``) nor after a 5xx: uvicorn closes the connection of a request whose app
raised, without saying so, and the next request sent on it would be reset.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httptools

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Above this many bytes waiting in a streamed answer, stop reading the upstream socket.
_HIGH_WATER = 1 << 20


class UpstreamError(Exception):
    """The service could not be reached, or broke the connection before a complete answer."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """Connecting, or waiting between two reads, took longer than the timeout."""


class UpstreamConnectError(UpstreamError):
    """No connection could be opened (refused, unreachable): the request never left, so another
    replica may take it."""


class UpstreamConnectTimeout(UpstreamTimeout, UpstreamConnectError):
    """Connecting took longer than the connect timeout (nothing was sent)."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    __slots__ = (
        "buffered",
        "busy",
        "chunked",
        "chunks",
        "closed",
        "complete",
        "data_waiter",
        "error",
        "got_bytes",
        "head_waiter",
        "headers",
        "idle_since",
        "keep_alive",
        "last_read",
        "length",
        "parser",
        "paused",
        "pool",
        "reason",
        "reused",
        "status",
        "timer",
        "transport",
    )

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self.busy = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.length: int | None = None
        self.chunked = False
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.complete = False
        self.keep_alive = False
        self.head_waiter: asyncio.Future[None] | None = None
        self.data_waiter: asyncio.Future[None] | None = None
        self.error: BaseException | None = None
        self.got_bytes = False
        self.last_read = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.paused = False

    # --- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            # Bytes nobody asked for (on an idle connection): it cannot be trusted any more.
            self.abort()
            return
        self.got_bytes = True
        self.last_read = self.pool.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamError("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"malformed answer: {exc}"))

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        self.pool._forget(self)
        if self.complete or not self.busy:
            return
        if exc is None and self.status >= 200 and self.length is None and not self.chunked:
            # A body delimited by the end of the connection (no length, not chunked): done.
            self.keep_alive = False
            self.on_message_complete()
            return
        self._fail(UpstreamError(f"connection closed by the service ({exc or 'EOF'})"))

    def pause_writing(self) -> None:  # big request bodies: the transport buffers them
        pass

    def resume_writing(self) -> None:
        pass

    # --- httptools callbacks --------------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if len(name) == 14 and name.lower() == b"content-length":
            try:
                self.length = int(value)
            except ValueError:
                self.length = None
        elif len(name) == 17 and name.lower() == b"transfer-encoding":
            self.chunked = b"chunked" in value.lower()

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200:
            return
        self.keep_alive = self.parser.should_keep_alive()
        length = self.length
        if length is None or length > self.pool.buffer_limit:
            # Streamed: the caller wants the head now.
            w = self.head_waiter
            if w is not None and not w.done():
                w.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        w = self.data_waiter
        if w is not None and not w.done():
            w.set_result(None)
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:
            # An interim answer (100 Continue, 103 Early Hints): wait for the final one.
            self.status = 0
            self.reason = b""
            self.headers = []
            self.length = None
            self.chunked = False
            return
        self.complete = True
        self.keep_alive = self.keep_alive and self.parser.should_keep_alive()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for w in (self.head_waiter, self.data_waiter):
            if w is not None and not w.done():
                w.set_result(None)

    # --- errors and timeouts --------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for w in (self.head_waiter, self.data_waiter):
            if w is not None and not w.done():
                w.set_result(None)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _on_timer(self) -> None:
        self.timer = None
        if self.complete or self.error is not None:
            return
        loop = self.pool.loop
        left = self.last_read + self.pool.read_timeout - loop.time()
        if self.paused:  # we stopped reading (a slow client): not the service's delay
            left = self.pool.read_timeout
        if left > 0.001:
            self.timer = loop.call_later(left, self._on_timer)
            return
        self._fail(UpstreamTimeout("no answer within the read timeout"))

    # --- one exchange ---------------------------------------------------------------------------

    async def exchange(self, data: bytes) -> None:
        """Send the request; return once the head is here (streamed) or the whole answer."""
        self._reset()
        self.busy = True
        loop = self.pool.loop
        self.last_read = loop.time()
        self.timer = loop.call_later(self.pool.read_timeout, self._on_timer)
        waiter = self.head_waiter = loop.create_future()
        assert self.transport is not None
        self.transport.write(data)
        try:
            await waiter
        except BaseException:
            # Cancelled (the client went away): this connection is in an unknown state.
            self._fail(UpstreamError("cancelled"))
            raise
        if self.error is not None:
            raise self.error

    async def body(self) -> bytes:
        """The rest of the body, whole (for answers that were not buffered in ``exchange``)."""
        parts = []
        async for chunk in self.iter_body():
            parts.append(chunk)
        return b"".join(parts)

    def buffered_body(self) -> bytes:
        chunks = self.chunks
        if not chunks:
            return b""
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def iter_body(self) -> AsyncIterator[bytes]:
        loop = self.pool.loop
        while True:
            if self.chunks:
                chunks, self.chunks = self.chunks, []
                self.buffered = 0
                if self.paused and self.transport is not None and not self.closed:
                    self.paused = False
                    self.transport.resume_reading()
                for c in chunks:
                    yield c
                continue
            if self.error is not None:
                raise self.error
            if self.complete:
                return
            waiter = self.data_waiter = loop.create_future()
            try:
                await waiter
            except BaseException:
                self._fail(UpstreamError("cancelled"))
                raise
            self.data_waiter = None

    def release(self) -> None:
        """Back to the pool when the answer was read whole and the connection may be reused;
        closed otherwise."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.busy = False
        if self.closed:
            return
        if (
            self.complete
            and self.keep_alive
            and self.status < 500
            and self.error is None
            and not self.paused
        ):
            self.pool._put(self)
        else:
            self.abort()
            self.pool._forget(self)


class UpstreamPool:
    """Keep-alive connections to one ``http://host:port`` service, most recently used first."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        limit: int = 512,
        keepalive_timeout: float = 4.0,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        buffer_limit: int = 256 * 1024,
    ) -> None:
        self.host = host
        self.port = port
        self.limit = max(1, limit)
        self.keepalive_timeout = keepalive_timeout
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.buffer_limit = buffer_limit
        self.loop = asyncio.get_running_loop()
        self._idle: collections.deque[_Connection] = collections.deque()
        self._count = 0  # open or opening connections, idle ones included
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False
        self._sweeper: asyncio.TimerHandle | None = None

    # --- the pool -------------------------------------------------------------------------------

    async def acquire(self) -> _Connection:
        idle = self._idle
        now = self.loop.time()
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            if now - conn.idle_since > self.keepalive_timeout:
                conn.abort()
                self._forget(conn)
                continue
            conn.reused = True
            return conn
        while self._count >= self.limit:
            w = self.loop.create_future()
            self._waiters.append(w)
            try:
                await w
            except BaseException:
                if not w.cancelled() and w.done():
                    self._wake()
                raise
            if idle:
                return await self.acquire()
        return await self._connect()

    async def _connect(self) -> _Connection:
        if self._closed:
            raise UpstreamError("the pool is closed")
        self._count += 1
        conn = _Connection(self)
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self.loop.create_connection(lambda: conn, self.host, self.port)
        except TimeoutError as exc:
            self._count -= 1
            self._wake()
            raise UpstreamConnectTimeout(f"connect to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            self._count -= 1
            self._wake()
            raise UpstreamConnectError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        except BaseException:
            self._count -= 1
            self._wake()
            conn.abort()
            raise
        conn.reused = False
        return conn

    def _put(self, conn: _Connection) -> None:
        if self._closed:
            conn.abort()
            self._forget(conn)
            return
        conn.idle_since = self.loop.time()
        self._idle.append(conn)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self.keepalive_timeout, self._sweep)
        self._wake()

    def _forget(self, conn: _Connection) -> None:
        if conn.pool is not self:
            return
        conn.pool = _DetachedPool(self)  # type: ignore[assignment]
        self._count -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            w = self._waiters.popleft()
            if not w.done():
                w.set_result(None)
                return

    def _sweep(self) -> None:
        self._sweeper = None
        now = self.loop.time()
        keep: collections.deque[_Connection] = collections.deque()
        for conn in self._idle:
            if conn.closed:
                continue
            if now - conn.idle_since > self.keepalive_timeout:
                conn.abort()
                self._forget(conn)
            else:
                keep.append(conn)
        self._idle = keep
        if keep:
            self._sweeper = self.loop.call_later(self.keepalive_timeout / 2, self._sweep)

    async def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        while self._idle:
            conn = self._idle.pop()
            conn.abort()
            self._forget(conn)
        for w in self._waiters:
            if not w.done():
                w.set_exception(UpstreamError("the pool is closed"))
        self._waiters.clear()

    # --- a request ------------------------------------------------------------------------------

    async def send(self, method: str, data: bytes, *, retry_safe: bool = False) -> _Connection:
        """Send ``data`` (request head and body) and return the connection holding the answer:
        ``status``, ``reason``, ``headers``; then ``buffered_body()`` when ``complete``, else
        ``iter_body()``. The caller must ``release()`` it. ``retry_safe``: the request may be
        sent twice whatever its method (it carries an ``Idempotency-Key``)."""
        conn = await self.acquire()
        try:
            await conn.exchange(data)
            return conn
        except UpstreamError:
            retry = conn.reused and not conn.got_bytes and (retry_safe or method in IDEMPOTENT)
            conn.release()
            if not retry or isinstance(conn.error, UpstreamTimeout):
                raise
        conn = await self._connect()
        try:
            await conn.exchange(data)
        except BaseException:
            conn.release()
            raise
        return conn


class _DetachedPool:
    """What a connection points to once its pool has stopped counting it: same settings, no
    bookkeeping."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.loop: Any = pool.loop
        self.read_timeout = pool.read_timeout
        self.buffer_limit = pool.buffer_limit

    def _forget(self, conn: _Connection) -> None:
        pass

    def _put(self, conn: _Connection) -> None:
        conn.abort()
