"""``create_service_app``: the one way a service assembles its FastAPI app.

Nothing connects at import time: the database engine, token verifier, Redis client and the
service's own background work are created in the lifespan and kept on ``app.state``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import MetaData

from vc_common.auth import (
    JWKSKeySource,
    MemoryRevocationStore,
    RedisRevocationStore,
    RevocationStore,
    TokenVerifier,
)
from vc_common.db import Database
from vc_common.errors import install_error_handlers
from vc_common.health import ReadinessCheck, alembic_heads, database_check, health_router
from vc_common.logging import setup_logging
from vc_common.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from vc_common.requestctx import RequestContextMiddleware
from vc_common.settings import ServiceSettings
from vc_common.tables import CommonTables, install_common_tables
from vc_common.telemetry import setup_tracing
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
    alembic_ini: Path | None = None,
    on_startup: Sequence[Hook] = (),
    readiness: dict[str, ReadinessCheck] | None = None,
    version: str = "1.0.0",
    verifier: Callable[[FastAPI], TokenVerifier] | None = None,
) -> FastAPI:
    setup_logging(settings.service_name, settings.log_level, json=settings.log_json)
    setup_tracing(
        settings.service_name,
        settings.otel_exporter_otlp_endpoint,
        in_memory=settings.environment == "test",
    )
    tables = install_common_tables(metadata) if metadata is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if metadata is not None and getattr(app.state, "db", None) is None:
                app.state.db = Database(
                    settings.async_database_url,
                    pool_size=settings.db_pool_size,
                    max_overflow=settings.db_max_overflow,
                    echo=settings.db_echo,
                    pre_ping=settings.db_pool_pre_ping,
                )
                stack.push_async_callback(app.state.db.dispose)
                if tables is not None:
                    _start_housekeeping(app.state.db, tables, stack)
            redis = None
            if settings.redis_url:
                import redis.asyncio as aioredis

                redis = aioredis.from_url(settings.redis_url)
                stack.push_async_callback(redis.aclose)
            app.state.redis = redis
            revocations: RevocationStore = (
                RedisRevocationStore(redis) if redis is not None else MemoryRevocationStore()
            )
            app.state.revocations = revocations
            if getattr(app.state, "verifier", None) is None:
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
            for hook in on_startup:
                await hook(app, stack)
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
    app.state.db = None
    app.state.verifier = None
    app.state.verifier_factory = verifier
    if alembic_ini is not None and alembic_ini.exists():
        app.state.alembic_heads = alembic_heads(alembic_ini)
    install_error_handlers(app)
    checks: dict[str, ReadinessCheck] = {}
    if metadata is not None:
        checks["database"] = database_check
    checks.update(readiness or {})
    app.include_router(health_router(checks))
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
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    return app


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


def state(app: Any, name: str) -> Any:
    return getattr(app.state, name)
