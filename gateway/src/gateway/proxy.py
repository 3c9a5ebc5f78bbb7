"""Forwarding: HTTP requests (small bodies buffered, large ones streamed both ways) and WebSocket
sessions (frames pumped both ways, close codes kept).

A service may run several replicas (``gateway.balancer``): each request (each WebSocket) goes to
the next one, round-robin; one that refuses the connection is marked down for a few seconds and
the request, which never reached it, goes to the next. With several replicas the answer carries
``X-Served-By: <service>#<k>`` (the replica, from 1), unless ``GATEWAY_SERVED_BY=false``.

Two clients per upstream service, each with its own keep-alive pool(s), shared by every request:

* ``gateway.upstream.UpstreamPool`` (asyncio Protocols + httptools) for every request whose body
  is absent or buffered, to an ``http://host:port`` service: the hot path. The request head is
  written from the raw header bytes the client sent, the answer's raw headers are passed back.
* an ``aiohttp.ClientSession`` for the rest: streamed uploads (chunked, or above the buffer
  limit), ``HEAD``, WebSockets, services behind https or a path prefix, health checks and the
  OpenAPI documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from multidict import CIMultiDict
from yarl import URL

from gateway.balancer import Replica, Upstream
from gateway.problems import problem
from gateway.routes import Service
from gateway.tunnel import Splice, TunnelConnectError, TunnelError, connect, read_refusal
from gateway.upstream import UpstreamConnectError, UpstreamError, UpstreamPool

log = logging.getLogger("gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Request headers the gateway drops or sets itself.
_REQUEST_DROP = HOP_BY_HOP | {
    "host",
    "content-length",
    "expect",
    "x-request-id",
    "traceparent",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
}
_WS_DROP = _REQUEST_DROP | {
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "sec-websocket-accept",
}
_RESPONSE_DROP = HOP_BY_HOP | {"content-length"}
_RESPONSE_DROP_STREAM = HOP_BY_HOP
# The same sets as bytes, for the raw headers of the fast path.
_REQUEST_DROP_B = frozenset(h.encode() for h in _REQUEST_DROP)
_RESPONSE_DROP_B = frozenset(h.encode() for h in _RESPONSE_DROP)
_RESPONSE_DROP_STREAM_B = frozenset(h.encode() for h in _RESPONSE_DROP_STREAM)
# Methods aiohttp's client sends without ``Content-Length: 0`` when there is no body.
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_NO_BODY_STATUS = frozenset({204, 304})
_UNSENDABLE_CLOSE = frozenset({1005, 1006, 1015})
# The raw tunnel: the client's handshake headers go to the service as they are (it answers the
# client's key), but not its permessage-deflate offer; Connection/Upgrade are set again.
_WS_TUNNEL_DROP_B = _REQUEST_DROP_B | {b"sec-websocket-extensions"}
_WS_TUNNEL_EXTRA = b"Connection: Upgrade\r\nUpgrade: websocket\r\n"
# aiohttp's client failing to connect at all: the request never left, another replica may take it.
_NOT_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# Where the proxy notes the replica that answered (read by the gateway's ``decorate``).
SERVED_BY: web.RequestKey[str] = web.RequestKey("served_by", str)


class _Hijacked(web.StreamResponse):
    """What the handler returns once the connection was taken from aiohttp's protocol (the 101
    and everything after it went out raw): nothing more is written, the connection is not kept."""

    async def prepare(self, request: web.BaseRequest) -> None:
        del request

    async def write_eof(self, data: bytes = b"") -> None:
        del data

    @property
    def keep_alive(self) -> bool:
        return False


def _can_hijack(request: web.BaseRequest) -> bool:
    """Whether the client's connection can leave aiohttp's server protocol after the handshake:
    a transport that can change protocol, the protocol holding nothing but an upgrade tail."""
    transport = request.transport
    proto = request.protocol
    return (
        transport is not None
        and not transport.is_closing()
        and hasattr(transport, "set_protocol")
        and isinstance(getattr(proto, "_message_tail", None), bytes)
        and getattr(proto, "_payload_parser", True) is None
    )


def make_session(
    *, pool: int, connect_timeout: float, upstream_timeout: float
) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=pool,
        limit_per_host=0,
        # Below uvicorn's 5 s keep-alive, so an idle connection is dropped here first rather than
        # reused just as the service closes it.
        keepalive_timeout=4.0,
        ttl_dns_cache=300,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=connect_timeout, sock_read=upstream_timeout
        ),
        # Bytes pass through as the service sent them; nothing is invented on the way.
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        # Never keep one client's cookies for another.
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )


def _connection_tokens(headers: Any) -> set[str]:
    value = headers.get("Connection")
    if not value:
        return set()
    return {t.strip().lower() for t in value.split(",") if t.strip()}


def forward_headers(
    request: web.Request, drop: frozenset[str], request_id: str, traceparent: str
) -> list[tuple[str, str]]:
    headers = request.headers
    extra_drop = _connection_tokens(headers)
    out: list[tuple[str, str]] = []
    for k, v in headers.items():
        lk = k.lower()
        if lk in drop or (extra_drop and lk in extra_drop):
            continue
        out.append((k, v))
    peer = request.remote or ""
    xff = headers.get("X-Forwarded-For")
    out.append(("X-Forwarded-For", f"{xff}, {peer}" if xff else peer))
    out.append(("X-Forwarded-Proto", request.scheme))
    host = headers.get("Host")
    if host:
        out.append(("X-Forwarded-Host", host))
    out.append(("X-Request-ID", request_id))
    out.append(("traceparent", traceparent))
    return out


def _connection_tokens_b(value: bytes) -> frozenset[bytes]:
    return frozenset(t.strip().lower() for t in value.split(b",") if t.strip())


def request_head(
    request: web.Request,
    host: bytes,
    request_id: str,
    traceparent: str,
    body_length: int | None,
    drop: frozenset[bytes] = _REQUEST_DROP_B,
    extra: bytes = b"",
) -> bytes:
    """The request line and headers to send upstream, from the raw header bytes the client sent:
    hop-by-hop ones (and those its ``Connection`` names) dropped, ``Host`` the service's, then
    ``X-Forwarded-*``, ``X-Request-ID``, ``traceparent`` and the body's ``Content-Length``."""
    method = request.method
    parts = [method.encode(), b" ", request.raw_path.encode("utf-8", "surrogateescape")]
    parts.append(b" HTTP/1.1\r\nHost: ")
    parts.append(host)
    parts.append(b"\r\n")
    raw = request.raw_headers
    xff: bytes | None = None
    client_host: bytes | None = None
    for name, value in raw:
        lname = name.lower()
        if lname == b"connection":
            tokens = _connection_tokens_b(value) - {b"keep-alive", b"close"}
            if tokens:
                drop = drop | tokens
        elif lname == b"x-forwarded-for":
            if xff is None:
                xff = value
        elif lname == b"host" and client_host is None:
            client_host = value
    for name, value in raw:
        if name.lower() in drop:
            continue
        parts += (name, b": ", value, b"\r\n")
    peer = (request.remote or "").encode()
    parts += (b"X-Forwarded-For: ", xff + b", " + peer if xff else peer, b"\r\n")
    parts += (b"X-Forwarded-Proto: ", request.scheme.encode(), b"\r\n")
    if client_host:
        parts += (b"X-Forwarded-Host: ", client_host, b"\r\n")
    parts += (b"X-Request-ID: ", request_id.encode(), b"\r\ntraceparent: ")
    parts += (traceparent.encode(), b"\r\n")
    if body_length is not None:
        parts += (b"Content-Length: ", str(body_length).encode(), b"\r\n")
    elif method not in _NO_BODY_METHODS:
        parts.append(b"Content-Length: 0\r\n")
    if extra:
        parts.append(extra)
    parts.append(b"\r\n")
    return b"".join(parts)


def raw_response_headers(
    raw: list[tuple[bytes, bytes]], drop: frozenset[bytes]
) -> list[tuple[str, str]]:
    """The answer's headers to pass back (as aiohttp's parser would decode them), hop-by-hop
    ones and those named in ``Connection`` dropped."""
    for name, value in raw:
        if name.lower() == b"connection":
            tokens = _connection_tokens_b(value)
            if tokens:
                drop = drop | tokens
    return [
        (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
        for name, value in raw
        if name.lower() not in drop
    ]


def response_headers(headers: Any, drop: frozenset[str]) -> CIMultiDict[str]:
    extra_drop = _connection_tokens(headers)
    out: CIMultiDict[str] = CIMultiDict()
    for k, v in headers.items():
        lk = k.lower()
        if lk in drop or (extra_drop and lk in extra_drop):
            continue
        out.add(k, v)
    return out


def fast_pool_target(base_url: str) -> tuple[str, int] | None:
    """``(host, port)`` when the fast client can talk to this service: plain http, no path."""
    url = URL(base_url)
    if url.scheme != "http" or url.raw_path not in ("", "/") or url.host is None:
        return None
    return url.host, url.port or 80


def host_header(base_url: str) -> bytes:
    """``Host`` as aiohttp's client writes it for this base URL (the port unless it is 80)."""
    url = URL(base_url)
    host = url.raw_host or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = url.port
    return (host if port in (None, 80) else f"{host}:{port}").encode("idna")


#: the largest WebSocket message a client may send through the frame-relaying proxy (a larger
#: one closes the socket with 1009); services refuse more than 64 KiB themselves
CLIENT_WS_MAX_MESSAGE = 1024 * 1024
#: what a client is told to wait when no replica of a service accepts connections
RETRY_AFTER_DOWN = 2


def _upstream_failure(exc: BaseException, service: Service) -> web.Response:
    if isinstance(exc, (UpstreamConnectError, TunnelConnectError, *_NOT_CONNECTED)):
        # nothing listens (a crash, a restart): a quick 503 the client may retry, not a 502
        log.warning("upstream %s unavailable: %s", service.name, exc)
        return problem(
            503,
            f"The {service.name} service is unavailable right now; retry shortly.",
            slug="service-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_DOWN)},
        )
    if isinstance(exc, TimeoutError):
        return problem(
            504,
            f"The {service.name} service did not answer in time.",
            slug="upstream-timeout",
        )
    log.warning("upstream %s failed: %s: %s", service.name, type(exc).__name__, exc)
    return problem(502, f"The {service.name} service cannot be reached.", slug="upstream-error")


class Proxy:
    def __init__(
        self,
        upstreams: dict[str, Upstream],
        buffer_limit: int,
        ws_tunnel: bool = True,
        served_by: bool = True,
    ) -> None:
        # service name -> its replicas, session and pools (filled when the app starts)
        self.upstreams = upstreams
        self.buffer_limit = buffer_limit
        self.ws_tunnel = ws_tunnel
        self.served_by = served_by
        self.tunnels: set[Splice] = set()

    def _served(self, request: web.Request, up: Upstream, replica: Replica) -> None:
        if self.served_by and up.several:
            request[SERVED_BY] = replica.label

    def close_tunnels(self) -> None:
        """Shutting down: end every raw WebSocket tunnel (the clients see the TCP close)."""
        for splice in list(self.tunnels):
            splice.finish()

    async def http(
        self,
        request: web.Request,
        service: Service,
        request_id: str,
        traceparent: str,
        decorate: Any,
    ) -> web.StreamResponse:
        up = self.upstreams[service.name]
        method = request.method
        if not up.fast or method == "HEAD":
            return await self.http_aiohttp(request, service, request_id, traceparent, decorate)
        body: bytes | None = None
        if request.body_exists:
            length = request.content_length
            if length is None or length > self.buffer_limit:
                return await self.http_aiohttp(request, service, request_id, traceparent, decorate)
            body = await request.read()
        failure: UpstreamError | None = None
        retry_safe = "Idempotency-Key" in request.headers
        for replica in up.order():
            assert replica.fast is not None
            pool, host = replica.fast
            head = request_head(
                request, host, request_id, traceparent, None if body is None else len(body)
            )
            try:
                conn = await pool.send(method, head + body if body else head, retry_safe=retry_safe)
            except UpstreamConnectError as exc:  # never reached it: the next replica may
                up.mark_down(replica, exc)
                failure = exc
                continue
            except UpstreamError as exc:
                return _upstream_failure(exc, service)
            up.mark_up(replica)
            self._served(request, up, replica)
            try:
                return await self._answer(request, conn, service, decorate)
            finally:
                conn.release()
        assert failure is not None
        return _upstream_failure(failure, service)

    async def _answer(
        self, request: web.Request, conn: Any, service: Service, decorate: Any
    ) -> web.StreamResponse:
        """The fast client's answer passed back: whole when it was buffered, else streamed."""
        status = conn.status
        if status in _NO_BODY_STATUS:
            resp = web.StreamResponse(
                status=status,
                reason=conn.reason.decode("latin-1") or None,
                headers=raw_response_headers(conn.headers, _RESPONSE_DROP_STREAM_B),
            )
            decorate(resp)
            await resp.prepare(request)
            await resp.write_eof()
            return resp
        if conn.complete and conn.buffered <= self.buffer_limit:
            return web.Response(
                status=status,
                reason=conn.reason.decode("latin-1") or None,
                body=conn.buffered_body(),
                headers=raw_response_headers(conn.headers, _RESPONSE_DROP_B),
            )
        resp = web.StreamResponse(
            status=status,
            reason=conn.reason.decode("latin-1") or None,
            headers=raw_response_headers(conn.headers, _RESPONSE_DROP_STREAM_B),
        )
        decorate(resp)
        await resp.prepare(request)
        try:
            async for chunk in conn.iter_body():
                await resp.write(chunk)
        except UpstreamError as exc:
            log.warning("stream from %s broken: %s", service.name, exc)
            if request.transport is not None:
                request.transport.abort()
            return resp
        await resp.write_eof()
        return resp

    async def http_aiohttp(
        self,
        request: web.Request,
        service: Service,
        request_id: str,
        traceparent: str,
        decorate: Any,
    ) -> web.StreamResponse:
        """The same forward through aiohttp's client: streamed uploads, HEAD, anything the fast
        client does not serve."""
        up = self.upstreams[service.name]
        session = up.session
        headers = forward_headers(request, _REQUEST_DROP, request_id, traceparent)
        data: Any = None
        # A streamed body is announced with ``Expect: 100-continue`` and sent only once the
        # service asks for it (uvicorn sends the 100 when the app first reads): a service that
        # refuses an upload before reading it (413 past a size limit) answers at once, the body
        # never leaves, and its answer reaches the client intact (without it the service's close
        # could reset the connection while the gateway is still sending, and the answer is lost).
        expect100 = False
        if request.body_exists:
            length = request.content_length
            if length is not None and length <= self.buffer_limit:
                data = await request.read()
            else:
                data = request.content  # not read before a connection is open: retry is safe
                expect100 = True
                if length is not None:
                    headers.append(("Content-Length", str(length)))
        failure: BaseException | None = None
        upstream: aiohttp.ClientResponse | None = None
        for replica in up.order():
            url = URL(replica.base_url + request.raw_path, encoded=True)
            try:
                upstream = await session.request(
                    request.method,
                    url,
                    headers=headers,
                    data=data,
                    allow_redirects=False,
                    expect100=expect100,
                )
            except _NOT_CONNECTED as exc:
                up.mark_down(replica, exc)
                failure = exc
                continue
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                return _upstream_failure(exc, service)
            up.mark_up(replica)
            self._served(request, up, replica)
            break
        if upstream is None:
            assert failure is not None
            return _upstream_failure(failure, service)
        try:
            status = upstream.status
            length = upstream.content_length
            if request.method == "HEAD" or status in _NO_BODY_STATUS or status < 200:
                return await self._no_body(request, upstream, decorate)
            if length is not None and length <= self.buffer_limit:
                try:
                    body = await upstream.read()
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    return _upstream_failure(exc, service)
                return web.Response(
                    status=status,
                    reason=upstream.reason,
                    body=body,
                    headers=response_headers(upstream.headers, _RESPONSE_DROP),
                )
            return await self._stream(request, upstream, decorate, service)
        finally:
            if upstream.status >= 500:
                upstream.close()  # the service may close it (see gateway.upstream): not reused
            else:
                upstream.release()

    async def _no_body(
        self, request: web.Request, upstream: aiohttp.ClientResponse, decorate: Any
    ) -> web.StreamResponse:
        resp = web.StreamResponse(
            status=upstream.status,
            reason=upstream.reason,
            headers=response_headers(upstream.headers, _RESPONSE_DROP_STREAM),
        )
        decorate(resp)
        await resp.prepare(request)
        await resp.write_eof()
        return resp

    async def _stream(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        decorate: Any,
        service: Service,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(
            status=upstream.status,
            reason=upstream.reason,
            headers=response_headers(upstream.headers, _RESPONSE_DROP_STREAM),
        )
        decorate(resp)
        await resp.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # The status is gone already: cut the connection so the client sees a broken body,
            # never a short one that looks complete.
            log.warning("stream from %s broken: %s", service.name, type(exc).__name__)
            if request.transport is not None:
                request.transport.abort()
            return resp
        await resp.write_eof()
        return resp

    async def websocket(
        self,
        request: web.Request,
        service: Service,
        request_id: str,
        traceparent: str,
        decorate: Any,
    ) -> web.StreamResponse:
        up = self.upstreams[service.name]
        if up.fast and self.ws_tunnel and _can_hijack(request):
            return await self.websocket_tunnel(request, service, request_id, traceparent, decorate)
        return await self.websocket_frames(request, service, request_id, traceparent, decorate)

    async def websocket_tunnel(
        self,
        request: web.Request,
        service: Service,
        request_id: str,
        traceparent: str,
        decorate: Any,
    ) -> web.StreamResponse:
        """The handshake sent to the service (the next replica) from the client's raw headers;
        a 101 is passed back (plus ``X-Request-ID``, CORS headers and ``X-Served-By``) and the
        two connections spliced; any other answer is returned as an HTTP answer (a 4xx with its
        body as the service sent it)."""
        up = self.upstreams[service.name]
        failure: BaseException | None = None
        connected = None
        pool: UpstreamPool | None = None
        for replica in up.order(websocket=True):
            assert replica.fast is not None
            pool, host = replica.fast
            head = request_head(
                request,
                host,
                request_id,
                traceparent,
                None,
                drop=_WS_TUNNEL_DROP_B,
                extra=_WS_TUNNEL_EXTRA,
            )
            try:
                connected = await connect(
                    pool.host,
                    pool.port,
                    head,
                    connect_timeout=pool.connect_timeout,
                    read_timeout=pool.read_timeout,
                )
            except TunnelConnectError as exc:
                up.mark_down(replica, exc)
                failure = exc
                continue
            except (TimeoutError, TunnelError) as exc:
                return _upstream_failure(exc, service)
            up.mark_up(replica)
            self._served(request, up, replica)
            break
        if connected is None or pool is None:
            assert failure is not None
            return _upstream_failure(failure, service)
        hs, status, reason, headers = connected
        upstream = hs.transport
        assert upstream is not None
        if status != 101:
            try:
                body = await read_refusal(hs, pool.read_timeout)
            except (TimeoutError, TunnelError) as exc:
                return _upstream_failure(exc, service)
            if not 400 <= status < 500:
                return _upstream_failure(
                    TunnelError(f"answered the WebSocket handshake with {status}"), service
                )
            return web.Response(
                status=status,
                reason=reason.decode("latin-1") or None,
                body=body,
                headers=raw_response_headers(headers, _RESPONSE_DROP_B),
            )
        # Our own headers on the 101: X-Request-ID, CORS (what ``decorate`` sets on a response).
        ours = web.StreamResponse()
        decorate(ours)
        own = {k.lower().encode() for k in ours.headers}
        parts = [b"HTTP/1.1 101 ", reason or b"Switching Protocols", b"\r\n"]
        for name, value in headers:
            if name.lower() not in own:
                parts += (name, b": ", value, b"\r\n")
        for k, v in ours.headers.items():
            parts += (k.encode("latin-1"), b": ", v.encode("latin-1"), b"\r\n")
        parts.append(b"\r\n")
        parts.append(bytes(hs.buf[hs.head_end :]))  # the first frames, if any came along
        client = request.transport
        proto: Any = request.protocol
        if not _can_hijack(request):  # the client went away meanwhile
            upstream.abort()
            raise ConnectionResetError("client gone before the WebSocket handshake completed")
        assert client is not None
        tail, proto._message_tail = proto._message_tail, b""
        loop = asyncio.get_running_loop()
        splice = Splice(loop, client, upstream)

        def on_client_lost() -> None:
            # aiohttp's protocol no longer sees this connection: tell it it is gone, so the
            # server forgets it (as it would have on its own connection_lost).
            with contextlib.suppress(Exception):
                proto.connection_lost(None)

        self.tunnels.add(splice)
        try:
            splice.start(b"".join(parts), tail, on_client_lost)
            await splice.done
        except BaseException:
            splice.abort()
            raise
        finally:
            self.tunnels.discard(splice)
        resp = _Hijacked(status=101)
        return resp

    async def websocket_frames(
        self,
        request: web.Request,
        service: Service,
        request_id: str,
        traceparent: str,
        decorate: Any,
    ) -> web.StreamResponse:
        """The fallback: a WebSocket to the service with aiohttp's client, frames decoded and
        re-encoded both ways."""
        up = self.upstreams[service.name]
        headers = forward_headers(request, _WS_DROP, request_id, traceparent)
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        protocols = [p.strip() for p in offered.split(",") if p.strip()]
        failure: BaseException | None = None
        upstream: aiohttp.ClientWebSocketResponse | None = None
        for replica in up.order(websocket=True):
            url = URL(replica.base_url + request.raw_path, encoded=True)
            try:
                upstream = await up.session.ws_connect(
                    url,
                    headers=headers,
                    protocols=protocols,
                    autoping=True,
                    autoclose=True,
                    max_msg_size=4 * 1024 * 1024,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10.0),
                )
            except aiohttp.WSServerHandshakeError as exc:
                if 400 <= exc.status < 500:
                    return problem(exc.status, f"The {service.name} service refused the WebSocket.")
                return _upstream_failure(exc, service)
            except _NOT_CONNECTED as exc:
                up.mark_down(replica, exc)
                failure = exc
                continue
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                return _upstream_failure(exc, service)
            up.mark_up(replica)
            self._served(request, up, replica)
            break
        if upstream is None:
            assert failure is not None
            return _upstream_failure(failure, service)
        ws = web.WebSocketResponse(
            protocols=[upstream.protocol] if upstream.protocol else (),
            autoping=True,
            autoclose=True,
            max_msg_size=CLIENT_WS_MAX_MESSAGE,
            compress=False,  # no permessage-deflate: a zlib pass per frame and socket
        )
        decorate(ws)
        try:
            await ws.prepare(request)
        except Exception:
            await upstream.close()
            raise
        tasks = [
            asyncio.create_task(_pump(ws, upstream)),
            asyncio.create_task(_pump(upstream, ws)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            # One side closed and the pump closed the other; let the second pump see it.
            await asyncio.wait(tasks, timeout=15.0)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
            if not upstream.closed:
                await upstream.close()
            if not ws.closed:
                await ws.close()
        return ws


WSLike = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


async def _pump(src: WSLike, dst: WSLike) -> None:
    while True:
        msg = await src.receive()
        kind = msg.type
        if kind is WSMsgType.TEXT:
            await dst.send_str(msg.data)
        elif kind is WSMsgType.BINARY:
            await dst.send_bytes(msg.data)
        elif kind is WSMsgType.CLOSE:
            code = msg.data if isinstance(msg.data, int) else 1000
            if code in _UNSENDABLE_CLOSE:
                code = 1000
            reason = (msg.extra or "").encode() if isinstance(msg.extra, str) else b""
            if not dst.closed:
                await dst.close(code=code, message=reason)
            return
        elif kind in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            # The other pump is closing this side, or the peer vanished without a close frame.
            if not dst.closed:
                await dst.close(code=1000 if kind is WSMsgType.CLOSING else 1001)
            return
