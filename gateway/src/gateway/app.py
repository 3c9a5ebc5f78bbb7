"""The API gateway: the only thing web and mobile clients talk to.

One aiohttp handler does, in order: request id and trace context, CORS preflight, the gateway's
own endpoints (``/health``, ``/openapi.json``, ``/docs``), routing by platform.toml, the per-IP rate
limit, access-token verification (``/api/v1/*`` except the public auth routes), the per-user rate
limit, then the HTTP or WebSocket forward. Everything is built in ``create_app()``; upstream
sessions, Redis and the JWKS source are opened in the app's ``cleanup_ctx``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import orjson
from aiohttp import web
from vc_common import heap
from vc_common.auth import (
    JWKSKeySource,
    RevocationFeed,
    TokenVerifier,
    bearer_token,
    revocation_store,
)
from vc_common.errors import DomainError, TooManyRequests, Unauthorized
from vc_common.logging import request_id_var
from vc_common.ratelimit import MemoryRateLimiter, Rate, RateLimiter, RedisRateLimiter
from vc_common.redisclient import redis_client

from gateway import metrics
from gateway.balancer import Replica, Upstream
from gateway.openapi import DOCS_ASSETS, SWAGGER_HTML, OpenAPICache, docs_asset
from gateway.pages import VERIFY_EMAIL_HTML
from gateway.problems import from_domain_error, problem
from gateway.proxy import SERVED_BY, Proxy, fast_pool_target, host_header, make_session
from gateway.routes import RouteTable, Service, find_config, load_services
from gateway.settings import GatewaySettings
from gateway.tracing import OtelTracing, next_traceparent, request_id
from gateway.upstream import UpstreamPool
from gateway.web import WebClient, default_root

log = logging.getLogger("gateway")
access_log = logging.getLogger("gateway.access")

API_PREFIX = "/api/v1/"
EXPOSED_HEADERS = "X-Request-ID, Location, ETag, Retry-After, Link, traceparent"
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"

GATEWAY_KEY: web.AppKey[Gateway] = web.AppKey("gateway")
# How much of a streamed request body aiohttp buffers before it stops reading the client (the
# high-water mark is twice this): 64 KiB by default, which made a streamed upload a ping-pong of
# small reads, pauses and resumes; 256 KiB keeps the pipe full while 50 concurrent uploads hold
# ~25 MiB (1 MiB held ~130 MiB); a small request never uses it.
STREAM_READ_BUFSIZE = 256 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def needs_token(table: RouteTable, method: str, segs: list[str]) -> bool:
    """Everything under /api/v1 needs an access token but the routes platform.toml declares
    public (``public = ["POST /api/v1/auth/login", ...]``), which their services authenticate
    their own way."""
    if not segs or segs[:2] != ["api", "v1"]:
        return False
    return not table.public.allows(method, segs)


class Cors:
    def __init__(self, origins: list[str]) -> None:
        self.any = "*" in origins
        self.origins = frozenset(origins)
        self.enabled = bool(origins)

    def allows(self, origin: str) -> bool:
        return self.any or origin in self.origins

    def headers(self, origin: str) -> list[tuple[str, str]] | None:
        if not self.allows(origin):
            return None
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        ]

    def preflight(self, request: web.Request, origin: str) -> web.Response:
        if not self.allows(origin):
            return problem(403, "This origin may not call the API.", slug="cors-forbidden")
        requested = request.headers.get("Access-Control-Request-Headers", "")
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Max-Age": "600",
            "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        }
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
        return web.Response(status=204, headers=headers)


class Gateway:
    def __init__(self, settings: GatewaySettings, table: RouteTable) -> None:
        self.settings = settings
        self.table = table
        self.cors = Cors(settings.cors_origin_list)
        self.rate_ip: Rate | None = settings.rate_per_ip
        self.rate_user: Rate | None = settings.rate_per_user
        self.access_log = settings.gateway_access_log
        self.tracing: OtelTracing | None = None
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        # service name -> its replicas (round-robin), session and fast pools
        self.upstreams: dict[str, Upstream] = {}
        self.proxy = Proxy(
            self.upstreams,
            settings.gateway_buffer_limit,
            ws_tunnel=settings.gateway_ws_tunnel,
            served_by=settings.gateway_served_by,
        )
        self.openapi = OpenAPICache(table, ttl=settings.gateway_openapi_ttl)
        self.web: WebClient | None = None  # the built web client at `/`, see create_app
        self.limiter: RateLimiter = MemoryRateLimiter()
        self.verifier: TokenVerifier | None = None
        self.local: dict[str, Handler] = {
            "/health": self.health,
            "/livez": self.livez,
            "/readyz": self.livez,
            "/openapi.json": self.openapi_json,
            "/docs": self.docs,
            "/verify-email": self.verify_email,
            **{f"/docs/assets/{name}": self.docs_asset for name in DOCS_ASSETS},
        }

    # --- lifecycle ------------------------------------------------------------------------------

    async def lifespan(self, _app: web.Application) -> AsyncIterator[None]:
        s = self.settings
        redis: Any = None
        if s.redis_url:
            redis = redis_client(
                s.redis_url, max_connections=s.redis_pool_size, timeout=s.redis_pool_timeout
            )
            self.limiter = RedisRateLimiter(redis, prefix="vc:rl:gateway:")
        else:
            self.limiter = MemoryRateLimiter()
        revocations = revocation_store(
            redis, jwks_url=s.jwks_url, url=s.revocations_url, interval=s.revocation_poll_seconds
        )
        if isinstance(revocations, RevocationFeed):
            revocations.start()
        if s.otel_exporter_otlp_endpoint:
            from vc_common.telemetry import setup_tracing

            setup_tracing("gateway", s.otel_exporter_otlp_endpoint)
            self.tracing = OtelTracing()
        self.verifier = TokenVerifier(
            JWKSKeySource(s.jwks_url),
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            revocations=revocations,
        )
        for name, service in self.table.services.items():
            session = self.sessions[name] = make_session(
                pool=s.gateway_upstream_pool,
                connect_timeout=s.gateway_connect_timeout,
                upstream_timeout=s.gateway_upstream_timeout,
            )
            several = len(service.base_urls) > 1
            replicas = []
            for index, url in enumerate(service.base_urls):
                target = fast_pool_target(url)
                fast = None
                if target is not None:
                    pool = UpstreamPool(
                        *target,
                        limit=s.gateway_upstream_pool,
                        keepalive_timeout=4.0,
                        connect_timeout=s.gateway_connect_timeout,
                        read_timeout=s.gateway_upstream_timeout,
                        buffer_limit=s.gateway_buffer_limit,
                    )
                    fast = (pool, host_header(url))
                label = f"{name}#{index + 1}" if several else name
                replicas.append(Replica(index, label, url, fast))
            self.upstreams[name] = Upstream(
                service, replicas, session, down_for=s.gateway_replica_down_seconds
            )
        if s.environment != "test":
            heap.settle()  # its start-up heap out of the collector's walks (vc_common.heap)
        try:
            yield
        finally:
            await asyncio.gather(*(up.close() for up in self.upstreams.values()))
            self.upstreams.clear()
            self.sessions.clear()
            if isinstance(revocations, RevocationFeed):
                await revocations.close()
            if redis is not None:
                await redis.aclose()

    # --- the one handler ------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        headers = request.headers
        rid = request_id(headers.get("X-Request-ID"))
        request_id_var.set(rid)
        origin = headers.get("Origin")
        cors = self.cors.headers(origin) if origin and self.cors.enabled else None
        span: Any = None
        if self.tracing is not None:
            span, traceparent = self.tracing.begin(
                f"{request.method} {request.path}",
                headers.get("traceparent"),
                headers.get("tracestate"),
            )
        else:
            traceparent = next_traceparent(headers.get("traceparent"))

        def decorate(resp: web.StreamResponse) -> None:
            resp.headers["X-Request-ID"] = rid
            served = request.get(SERVED_BY)
            if served is not None:
                resp.headers["X-Served-By"] = served
            if cors is not None:
                for k, v in cors:
                    resp.headers[k] = v
                resp.headers.add("Vary", "Origin")

        user: Any = None
        metrics.started()
        try:
            resp, user = await self._dispatch(request, rid, traceparent, origin, decorate)
        except DomainError as exc:
            resp = from_domain_error(exc, instance=request.path)
        except Exception:
            log.exception("gateway error on %s %s", request.method, request.path)
            resp = problem(500, "An unexpected error occurred; it has been logged.")
        finally:
            metrics.finished()
        if not resp.prepared:
            decorate(resp)
        metrics.observe(request, resp.status, time.perf_counter() - started)
        if span is not None:
            OtelTracing.end(span, resp.status)
        if self.access_log:
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                resp.status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": resp.status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "remote": request.remote,
                    "user_id": str(user.id) if user is not None else None,
                    "traceparent": traceparent,
                },
            )
        return resp

    async def _dispatch(
        self,
        request: web.Request,
        rid: str,
        traceparent: str,
        origin: str | None,
        decorate: Callable[[web.StreamResponse], None],
    ) -> tuple[web.StreamResponse, Any]:
        """The answer, and the token's user when one was checked."""
        method = request.method
        raw = request.raw_path
        raw_path = raw.partition("?")[0]
        if (
            method == "OPTIONS"
            and origin
            and self.cors.enabled
            and "Access-Control-Request-Method" in request.headers
        ):
            return self.cors.preflight(request, origin), None
        local = self.local.get(raw_path)
        if local is not None:
            request[metrics.ROUTE_KEY] = raw_path
            if method not in ("GET", "HEAD"):
                return problem(405, f"{method} is not allowed on {raw_path}."), None
            return await local(request), None
        stripped = raw_path.strip("/")
        segs = stripped.split("/") if stripped else []
        if "%" in raw_path:
            segs = [unquote(s) for s in segs]
        if "." in segs or ".." in segs:
            return problem(400, "Dot segments are not allowed in a path."), None
        route = self.table.match_segments(segs)
        if route is None:
            page = self.web.serve(method, segs) if self.web is not None else None
            if page is not None:
                return page, None
            return problem(404, f"No route for {raw_path}.", slug="not-found"), None
        request[metrics.ROUTE_KEY] = route.pattern
        if self.rate_ip is not None:
            await self._limit(f"ip:{request.remote}", self.rate_ip)
        is_ws = (
            method == "GET"
            and "Upgrade" in request.headers
            and request.headers["Upgrade"].lower() == "websocket"
        )
        user: Any = None
        if needs_token(self.table, method, segs):
            token = bearer_token(request.headers.get("Authorization"))
            if token is None and is_ws:
                token = request.query.get("token") or None
            if token is None:
                raise Unauthorized("An access token is required.")
            assert self.verifier is not None
            user = await self.verifier.verify(token)
            if self.rate_user is not None:
                await self._limit(f"user:{user.id}", self.rate_user)
        service: Service = route.service
        if is_ws:
            return await self.proxy.websocket(request, service, rid, traceparent, decorate), user
        return await self.proxy.http(request, service, rid, traceparent, decorate), user

    async def _limit(self, key: str, rate: Rate) -> None:
        try:
            wait = await self.limiter.hit(key, rate)
        except Exception as exc:  # a broken Redis must not take the whole API down
            log.warning("rate limiter failed (%s); request allowed", type(exc).__name__)
            return
        if wait is not None:
            raise TooManyRequests(retry_after=max(1, math.ceil(wait)))

    # --- the gateway's own endpoints ------------------------------------------------------------

    async def livez(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "ok"})

    async def _ready(self, up: Upstream, replica: Replica) -> bool:
        try:
            async with up.session.get(
                replica.base_url + "/readyz",
                timeout=aiohttp.ClientTimeout(total=self.settings.gateway_health_timeout),
            ) as resp:
                await resp.read()
                return resp.status == 200
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False

    async def health(self, _request: web.Request) -> web.StreamResponse:
        """200 when every replica of every service answers its /readyz; a service is ``ok`` only
        if all its replicas are, and ``replicas`` details the services that have several."""
        checks = [(up, r) for up in self.upstreams.values() for r in up.replicas]
        results = await asyncio.gather(*(self._ready(up, r) for up, r in checks))
        services: dict[str, str] = {}
        replicas: dict[str, dict[str, str]] = {}
        for (up, replica), ready in zip(checks, results, strict=True):
            name = up.service.name
            state = "ok" if ready else "unavailable"
            if services.get(name, "ok") == "ok":
                services[name] = state
            if up.several:
                replicas.setdefault(name, {})[replica.label] = state
        ok = all(results)
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "services": services}
        if replicas:
            body["replicas"] = replicas
        return web.Response(
            body=orjson.dumps(body),
            status=200 if ok else 503,
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def openapi_json(self, _request: web.Request) -> web.StreamResponse:
        # Any session will do to fetch the documents: they name absolute URLs.
        session = next(iter(self.sessions.values()), None)
        if session is None:
            return problem(503, "No service is configured.")
        body = await self.openapi.get(session)
        return web.Response(body=body, content_type="application/json")

    async def docs(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(text=SWAGGER_HTML, content_type="text/html")

    async def verify_email(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(
            text=VERIFY_EMAIL_HTML,
            content_type="text/html",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    async def docs_asset(self, request: web.Request) -> web.StreamResponse:
        body, kind = docs_asset(request.path.rsplit("/", 1)[1])
        return web.Response(
            body=body, content_type=kind, headers={"Cache-Control": "public, max-age=86400"}
        )


def create_app(
    settings: GatewaySettings | None = None, services: list[Service] | None = None
) -> web.Application:
    """The gateway application. Reads platform.toml (``PLATFORM_CONFIG`` or found up from the cwd)
    unless ``services`` is given; opens no connection until the app starts."""
    settings = settings or GatewaySettings()
    config = None
    if services is None:
        config = find_config({"PLATFORM_CONFIG": settings.platform_config or ""})
        services = load_services(config)
    gateway = Gateway(settings, RouteTable(services))
    if settings.gateway_web_dir != "off":
        root = settings.gateway_web_dir or default_root(config)
        gateway.web = WebClient(Path(root))
    app = web.Application(
        handler_args={"max_field_size": 16 * 1024, "read_bufsize": STREAM_READ_BUFSIZE}
    )
    app[GATEWAY_KEY] = gateway
    app.cleanup_ctx.append(gateway.lifespan)

    async def close_tunnels(_app: web.Application) -> None:
        gateway.proxy.close_tunnels()

    app.on_shutdown.append(close_tunnels)
    app.router.add_route("*", "/{tail:.*}", gateway.handle)
    return app
