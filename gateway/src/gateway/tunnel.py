"""WebSockets as a raw byte tunnel: once the service has answered the handshake with
``101 Switching Protocols``, the client's TCP connection is taken from aiohttp's server protocol
and spliced with the connection to the service. Frames are never decoded or encoded here: each
``recv`` on one side is one ``send`` on the other, close frames and their codes pass as they
are, and the two sides' flow control is linked (a slow reader pauses reading the other side).

The handshake is end-to-end (the service answers the client's ``Sec-WebSocket-Key``), except
that the client's ``Sec-WebSocket-Extensions`` offer is not passed on: with permessage-deflate the
service would compress every frame once per socket (a room's fan-out frame to 200 sockets, 200
times), for frames of a few hundred bytes.

Used by :meth:`gateway.proxy.Proxy.websocket` when the service is plain ``http://host:port`` and
the client's transport can change protocol (asyncio and uvloop transports can); otherwise the
frame-by-frame aiohttp path remains.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import httptools

_HEAD_LIMIT = 64 * 1024
_BODY_LIMIT = 256 * 1024


class TunnelError(Exception):
    """The service could not be reached or did not answer the handshake sensibly."""


class TunnelConnectError(TunnelError):
    """No connection could be opened: nothing was sent, another replica may take it."""


class TunnelConnectTimeout(TunnelConnectError, TimeoutError):
    """Connecting took longer than the connect timeout."""


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Handshake(asyncio.Protocol):
    """The service's side until its answer to the upgrade request is read."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.head_end = -1
        self.waiter: asyncio.Future[None] = loop.create_future()
        self.eof = False
        # a refusal's body (only when the answer is not 101)
        self.parser: Any = None
        self.body: list[bytes] = []
        self.body_size = 0
        self.complete = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        _nodelay(transport)

    def data_received(self, data: bytes) -> None:
        if self.parser is not None:
            self._feed(data)
            return
        self.buf += data
        if self.head_end < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                self.head_end = end + 4
                self._wake()
            elif len(self.buf) > _HEAD_LIMIT:
                self._wake(TunnelError("the handshake answer's head is too large"))

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        del exc
        self.eof = True
        self._wake()

    def _wake(self, exc: BaseException | None = None) -> None:
        if not self.waiter.done():
            if exc is None:
                self.waiter.set_result(None)
            else:
                self.waiter.set_exception(exc)

    # --- a refusal: read its body with httptools --------------------------------------------

    def read_refusal(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        self.waiter = loop.create_future()
        self.parser = httptools.HttpResponseParser(self)
        data, self.buf = bytes(self.buf), bytearray()
        self._feed(data)
        if self.eof and not self.complete:
            # a body delimited by the end of the connection
            self._wake()
        return self.waiter

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._wake()
        except httptools.HttpParserError as exc:
            self._wake(TunnelError(f"malformed answer: {exc}"))

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size <= _BODY_LIMIT:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()


class _End(asyncio.Protocol):
    """One end of the splice: what it receives is written to the other end's transport."""

    __slots__ = ("peer_transport", "splice", "transport")

    def __init__(self, splice: Splice, transport: asyncio.Transport) -> None:
        self.splice = splice
        self.transport = transport
        self.peer_transport: asyncio.Transport = transport  # set by Splice

    def data_received(self, data: bytes) -> None:
        self.peer_transport.write(data)

    def eof_received(self) -> bool:
        self.splice.finish()
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        del exc
        self.splice.lost(self)

    def pause_writing(self) -> None:  # this end's peer reads slower than the other side sends
        with contextlib.suppress(Exception):
            self.peer_transport.pause_reading()

    def resume_writing(self) -> None:
        with contextlib.suppress(Exception):
            self.peer_transport.resume_reading()


class Splice:
    """The client's and the service's connections joined; ``done`` when either side ends (the
    other is then closed once its buffered bytes are written)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: asyncio.Transport,
        upstream: asyncio.Transport,
    ) -> None:
        self.client = _End(self, client)
        self.upstream = _End(self, upstream)
        self.client.peer_transport = upstream
        self.upstream.peer_transport = client
        self.done: asyncio.Future[None] = loop.create_future()
        self.client_lost: asyncio.Future[None] = loop.create_future()
        self._on_client_lost: Any = None

    def start(self, to_client: bytes, to_upstream: bytes, on_client_lost: Any = None) -> None:
        self._on_client_lost = on_client_lost
        client, upstream = self.client.transport, self.upstream.transport
        upstream.set_protocol(self.upstream)
        client.set_protocol(self.client)
        if to_client:
            client.write(to_client)
        if to_upstream:
            upstream.write(to_upstream)
        for t in (client, upstream):
            with contextlib.suppress(Exception):
                if not t.is_reading():
                    t.resume_reading()

    def finish(self) -> None:
        for end in (self.client, self.upstream):
            if not end.transport.is_closing():
                end.transport.close()  # after its buffer is written
        if not self.done.done():
            self.done.set_result(None)

    def abort(self) -> None:
        for end in (self.client, self.upstream):
            end.transport.abort()
        if not self.done.done():
            self.done.set_result(None)

    def lost(self, end: _End) -> None:
        if end is self.client and not self.client_lost.done():
            self.client_lost.set_result(None)
            cb, self._on_client_lost = self._on_client_lost, None
            if cb is not None:
                cb()
        self.finish()


def parse_head(head: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """``(status, reason, [(name, value)])`` of an HTTP/1.x answer head."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise TunnelError(f"not an HTTP answer: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise TunnelError("malformed header line")
        headers.append((name.strip(), value.strip()))
    return int(parts[1]), parts[2] if len(parts) > 2 else b"", headers


async def connect(
    host: str,
    port: int,
    request_head: bytes,
    *,
    connect_timeout: float,
    read_timeout: float,
) -> tuple[_Handshake, int, bytes, list[tuple[bytes, bytes]]]:
    """Open a connection to the service, send the upgrade request, read the answer's head:
    ``(handshake, status, reason, headers)``; ``handshake.buf[handshake.head_end:]`` are the
    bytes that followed the head (the first frames after a 101). The caller owns
    ``handshake.transport``."""
    loop = asyncio.get_running_loop()
    hs = _Handshake(loop)
    try:
        async with asyncio.timeout(connect_timeout):
            await loop.create_connection(lambda: hs, host, port)
    except TimeoutError as exc:
        raise TunnelConnectTimeout(f"connect to {host}:{port} timed out") from exc
    except OSError as exc:
        raise TunnelConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
    assert hs.transport is not None
    try:
        hs.transport.write(request_head)
        async with asyncio.timeout(read_timeout):
            await hs.waiter
        if hs.head_end < 0:
            raise TunnelError("connection closed by the service before its answer")
        status, reason, headers = parse_head(bytes(hs.buf[: hs.head_end - 4]))
    except BaseException:
        hs.transport.abort()
        raise
    return hs, status, reason, headers


async def read_refusal(hs: _Handshake, read_timeout: float) -> bytes:
    """The body of a non-101 answer (up to 256 KiB); closes the connection."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(read_timeout):
            await hs.read_refusal(loop)
        return b"".join(hs.body)
    finally:
        if hs.transport is not None:
            hs.transport.abort()
