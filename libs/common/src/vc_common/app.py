"""``create_service_app``: the one way a service assembles its FastAPI app.

What differs between services is their domain; the plumbing is all here::

    def create_app(settings: Settings | None = None) -> FastAPI:
        settings = settings or Settings()
        return create_service_app(
            settings,
            title="VirtualCoworking tasks",
            routers=[boards_router, tasks_router],
            metadata=Base.metadata,
            consumers=[consumer],
            access=Access(PERMISSIONS, membership.reader(settings)),
            jobs=[Job("rebalance", rebalance_columns, every=60)],
        )

- **Database**: one engine per process (``app.state.db``), a unit of work per request
  (:mod:`vc_common.uow`), ``/readyz`` checks it and that its migrations are at head.
- **Events**: when the service's MetaData has the outbox (``install_event_tables``), its relay
  always runs: a service cannot forget to publish what it commits. ``consumers`` run beside it,
  bound to the app so their handlers receive the app's :class:`~vc_common.context.Context`.
- **Access**: the service's permission table and where memberships come from; a source that
  follows events (the teams projection) must be kept by one of ``consumers`` (checked here), one
  that keeps clients is started in the lifespan.
- **Jobs**: periodic background work (:mod:`vc_common.jobs`), one unit of work per tick.
- **Operations**: ``/livez``, ``/readyz`` (:mod:`vc_common.health`) and ``/metrics``
  (:mod:`vc_common.metrics`); ``gauges`` are the service's own scrape-time readings.
- ``app.state.clock``: "now" for every rule; tests set it instead of sleeping.

Nothing connects at import time: engines, clients and loops start in the lifespan, in this
order (database, Redis, token verifier, access, ``on_startup`` hooks, events, jobs) and stop in
the reverse order.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import MetaData

from vc_common import heap
from vc_common.auth import (
    JWKSKeySource,
    RedisRevocationStore,
    RevocationFeed,
    RevocationStore,
    TokenVerifier,
    revocation_store,
)
from vc_common.authz import Access
from vc_common.badtext import BadTextMiddleware
from vc_common.bodylimit import BodyLimitMiddleware
from vc_common.context import system_clock
from vc_common.db import Database
from vc_common.errors import install_error_handlers
from vc_common.events.consumer import Consumer
from vc_common.events.runtime import event_runtime, outbox_readiness
from vc_common.events.tables import event_tables_of
from vc_common.health import ReadinessCheck, database_check, health_router
from vc_common.jobs import Job, start_jobs
from vc_common.logging import setup_logging
from vc_common.metrics import (
    MetricsMiddleware,
    SqlGauge,
    metrics_router,
    register_app,
    unregister_app,
)
from vc_common.openapi import install as install_openapi
from vc_common.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from vc_common.redisclient import redis_client
from vc_common.requestctx import RequestContextMiddleware
from vc_common.settings import ServiceSettings
from vc_common.tables import CommonTables, install_common_tables
from vc_common.telemetry import instrument_engine, setup_tracing
from vc_common.uow import UnitOfWorkMiddleware, purge_idempotency_keys

log = logging.getLogger("vc.app")

Hook = Callable[[FastAPI, AsyncExitStack], Awaitable[None]]


def operation_id(route: APIRoute) -> str:
    """Stable operation ids: the endpoint function's name (``create_team``, ``get_board``)."""
    return route.name


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter],
    metadata: MetaData | None,
    consumers: Sequence[Consumer] = (),
    access: Access | None = None,
    jobs: Sequence[Job] = (),
    on_startup: Sequence[Hook] = (),
    readiness: dict[str, ReadinessCheck] | None = None,
    version: str = "1.0.0",
    verifier: Callable[[FastAPI], TokenVerifier] | None = None,
    gauges: Sequence[SqlGauge] = (),
) -> FastAPI:
    service = settings.service_name
    setup_logging(service, settings.log_level, json=settings.log_json)
    setup_tracing(
        service,
        settings.otel_exporter_otlp_endpoint,
        in_memory=settings.environment == "test",
    )
    tables = install_common_tables(metadata) if metadata is not None else None
    event_tables = event_tables_of(metadata) if metadata is not None else None
    consumers = list(consumers)
    ensure = getattr(access.source, "ensure_followed", None) if access is not None else None
    if ensure is not None:
        ensure(consumers)  # a projection nobody keeps would answer from stale rows forever
    if consumers and event_tables is None:
        raise ValueError(f"{service}: consumers need the inbox (install_event_tables)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            register_app(app)  # /metrics reports its pool, relay and gauges while it runs
            stack.callback(unregister_app, app)
            if metadata is not None and app.state.db is None:
                app.state.db = Database(
                    settings.async_database_url,
                    pool_size=settings.db_pool_size,
                    max_overflow=settings.db_max_overflow,
                    echo=settings.db_echo,
                    pre_ping=settings.db_pool_pre_ping,
                )
                stack.push_async_callback(app.state.db.dispose)
                instrument_engine(app.state.db.engine)  # database spans, when exported
                if tables is not None:
                    _start_housekeeping(app.state.db, tables, stack)
            redis = None
            if settings.redis_url:
                redis = redis_client(
                    settings.redis_url,
                    max_connections=settings.redis_pool_size,
                    timeout=settings.redis_pool_timeout,
                )
                stack.push_async_callback(redis.aclose)
            app.state.redis = redis
            revocations: RevocationStore = (
                app.state.revocations
                if app.state.revocations is not None
                else revocation_store(
                    redis,
                    jwks_url=settings.jwks_url,
                    url=settings.revocations_url,
                    interval=settings.revocation_poll_seconds,
                )
            )
            app.state.revocations = revocations
            if isinstance(revocations, RevocationFeed):
                revocations.start()
            if isinstance(revocations, RevocationFeed | RedisRevocationStore):
                stack.push_async_callback(revocations.close)  # the poller, the subscriber
            if app.state.verifier is None:
                app.state.verifier = (
                    verifier(app)
                    if verifier is not None
                    else TokenVerifier(
                        JWKSKeySource(settings.jwks_url),
                        issuer=settings.jwt_issuer,
                        audience=settings.jwt_audience,
                        revocations=revocations,
                    )
                )
            limiter: RateLimiter = (
                RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter()
            )
            app.state.limiter = limiter
            start = getattr(access.source, "start", None) if access is not None else None
            if start is not None:
                await start(app, stack)
            for hook in on_startup:
                await hook(app, stack)
            for c in consumers:
                c.bind(app)
            if event_tables is not None and settings.events_enabled:
                await event_runtime(source=service, tables=event_tables, consumers=consumers)(
                    app, stack
                )
            if jobs and _owns_engine(app):
                start_jobs(app, jobs, stack)
            if settings.environment != "test":
                # a test process starts many apps: each one's heap would stay frozen
                heap.settle()
            yield

    app = FastAPI(
        # our RequestContextMiddleware makes the request span (only when spans are exported)
        # and carries traceparent on; FastAPI's own per-request span would double it
        telemetry={
            "tracing": False,
            "logs": False,
            "metrics": bool(settings.otel_exporter_otlp_endpoint),
        },
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tables = tables
    app.state.event_tables = event_tables
    app.state.consumers = consumers
    app.state.access = access
    app.state.jobs = {j.name: j for j in jobs}
    app.state.clock = system_clock
    app.state.db = None
    app.state.verifier = None
    app.state.revocations = None  # a service may set its own before the lifespan (identity)
    app.state.verifier_factory = verifier
    app.state.bus = None
    app.state.relay = None
    app.state.event_runtime = None
    if metadata is not None:
        app.state.alembic_heads = _heads(service)
    install_error_handlers(app)
    install_openapi(app)
    checks: dict[str, ReadinessCheck] = {}
    if metadata is not None:
        checks["database"] = database_check
    if event_tables is not None:
        checks["outbox"] = outbox_readiness
    checks.update(readiness or {})
    app.include_router(health_router(checks))
    app.state.metric_gauges = tuple(gauges)
    app.state.metric_samples = {}
    app.include_router(metrics_router())
    for router in routers:
        app.include_router(router)

    def _db() -> Database:
        db: Database = app.state.db
        return db

    def _verifier() -> TokenVerifier | None:
        v: TokenVerifier | None = app.state.verifier
        return v

    if metadata is not None:
        app.add_middleware(UnitOfWorkMiddleware, db=_db, tables=tables, verifier=_verifier)
    # added first, so inside the body limit: an oversized body is a 413 before it is read
    app.add_middleware(BadTextMiddleware)  # NUL, lone surrogates: 422 before any route
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, routes=lambda: app.router.routes
    )
    app.add_middleware(RequestContextMiddleware, service=service)
    app.add_middleware(MetricsMiddleware, service=service)  # outermost: times everything
    return app


def _heads(service: str) -> set[str] | None:
    from vc_common.migrations import heads

    try:
        return heads(service)
    except LookupError:
        return None


def _owns_engine(app: Any) -> bool:
    """Background loops need connections of their own (not the test plugin's single one)."""
    from sqlalchemy.ext.asyncio import AsyncEngine

    db: Database | None = app.state.db
    return db is not None and isinstance(db.engine, AsyncEngine)


HOUSEKEEPING_INTERVAL = 3600.0


def _start_housekeeping(db: Database, tables: CommonTables, stack: AsyncExitStack) -> None:
    """Hourly: forget Idempotency-Keys older than their 24 hours (every replica may run it;
    the DELETE is idempotent)."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL * (0.5 + random.random()))
            try:
                async with db.unit_of_work() as session:
                    purged = await purge_idempotency_keys(session, tables)
                if purged:
                    log.info("purged %d expired idempotency keys", purged)
            except Exception:
                log.warning("housekeeping failed; retrying next hour", exc_info=True)

    task = asyncio.create_task(loop(), name="housekeeping")

    async def stop() -> None:
        task.cancel()
        await asyncio.wait([task], timeout=5)

    stack.push_async_callback(stop)
