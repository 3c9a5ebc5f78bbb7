"""Serving the gateway: ``python -m gateway``.

The gateway's one handler does its own routing, so the process serves it with aiohttp's low-level
``web.Server`` (no ``Application``, no URL dispatcher, no middleware chain) on uvloop; the
upstream clients, Redis and the JWKS source open and close in ``Gateway.lifespan`` as under
``create_app()`` (which tests and embedders keep using: same handler, same behaviour).

``GATEWAY_WORKERS`` > 1 forks that many processes sharing the port (``SO_REUSEPORT``), each with
its own upstream pools, token cache and in-memory rate limits (use ``REDIS_URL`` for limits shared
between workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from aiohttp import HttpVersion11, web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from gateway.app import GATEWAY_KEY, STREAM_READ_BUFSIZE, Gateway, create_app
from gateway.metrics import start_metrics_site
from gateway.problems import problem
from gateway.settings import GatewaySettings

log = logging.getLogger("gateway")


class ProblemRequestHandler(RequestHandler):
    """aiohttp's connection handler, whose answers to a request it cannot parse (a URL or a
    header over the limits, a malformed request line) are problem+json like every other answer
    of the platform, not aiohttp's text/plain."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500 or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        detail = "The request could not be read."
        if isinstance(exc, LineTooLong):
            line = exc.args[0] if exc.args else b""
            text = (
                bytes(line).decode("latin-1") if isinstance(line, bytes | bytearray) else str(line)
            )
            if text.startswith("/") or " HTTP/" in text or "?" in text.split(":", 1)[0]:
                status, detail = 414, "The URL is longer than the gateway reads (8 KiB)."
            else:
                status, detail = 431, "A request header is longer than the gateway reads."
        resp = problem(status, detail)
        resp.force_close()
        return resp


class ProblemServer(web.Server):
    def __call__(self) -> RequestHandler:
        return ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


def low_level_handler(gateway: Gateway) -> Any:
    """``gateway.handle`` for ``web.Server``, with the ``Expect: 100-continue`` answer an
    ``Application`` would otherwise give."""
    handle = gateway.handle

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        expect = request.headers.get("Expect")
        if expect:
            if request.version == HttpVersion11 and expect.lower() != "100-continue":
                return problem(417, f"Unknown Expect: {expect}")
            if request.version == HttpVersion11:
                await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                request.writer.output_size = 0
        return await handle(request)  # type: ignore[arg-type]

    return handler


async def serve(
    settings: GatewaySettings,
    *,
    reuse_port: bool = False,
    app: web.Application | None = None,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Serve ``app`` (``create_app(settings)`` by default) until SIGINT/SIGTERM, or until ``stop``
    is set when one is given (no signal handlers then)."""
    app = app or create_app(settings)
    gateway = app[GATEWAY_KEY]
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    lifespan = contextlib.asynccontextmanager(gateway.lifespan)
    async with lifespan(app):
        server = ProblemServer(
            low_level_handler(gateway),
            access_log=None,
            max_field_size=16 * 1024,
            read_bufsize=STREAM_READ_BUFSIZE,
        )
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(
            runner,
            settings.gateway_host,
            settings.gateway_port,
            reuse_port=reuse_port or None,
        )
        await site.start()
        metrics_runner = None
        if settings.gateway_metrics_port and reuse_port:
            log.warning("GATEWAY_METRICS_PORT is ignored with GATEWAY_WORKERS > 1")
        elif settings.gateway_metrics_port:
            metrics_runner = await start_metrics_site(
                settings.gateway_metrics_host, settings.gateway_metrics_port
            )
        if started is not None:
            started.set()
        log.info(
            "gateway listening on %s:%s (pid %s)",
            settings.gateway_host,
            settings.gateway_port,
            os.getpid(),
        )
        try:
            await stop.wait()
        finally:
            gateway.proxy.close_tunnels()  # raw WebSocket tunnels hold their handlers
            if metrics_runner is not None:
                await metrics_runner.cleanup()
            await runner.cleanup()


def run(settings: GatewaySettings) -> None:
    import uvloop

    workers = max(1, settings.gateway_workers)
    if workers == 1:
        uvloop.run(serve(settings))
        return
    children: list[int] = []
    for _ in range(workers - 1):
        pid = os.fork()
        if pid == 0:  # a worker
            try:
                uvloop.run(serve(settings, reuse_port=True))
            finally:
                os._exit(0)
        children.append(pid)

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    try:
        uvloop.run(serve(settings, reuse_port=True))
    finally:
        forward(signal.SIGTERM, None)
        for child in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child, 0)
    sys.exit(0)
