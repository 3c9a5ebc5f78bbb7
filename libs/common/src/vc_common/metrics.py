"""Prometheus metrics: one registry per process (prometheus-client's default), ``/metrics`` on
every service (``create_service_app`` mounts it) and on the gateway's metrics port.

What is measured, and where:

- **Requests** (:class:`MetricsMiddleware`, pure ASGI): ``vc_http_requests_total`` and the
  ``vc_http_request_duration_seconds`` histogram by ``service``, ``method``, ``route`` (the route
  *template* the router matched, ``/api/v1/teams/{team_id}``; ``unmatched`` when none did, so a
  scan of random paths cannot blow up the series) and ``status``. Errors are ``status=~"5.."``.
- **WebSockets**: ``vc_websocket_connections`` (open now) and ``..._opened_total``, by route,
  counted by the same middleware from the ``websocket.accept`` a service sends.
- **Consumers** (:func:`consumer_observed`, called by ``Consumer.process``): events by outcome
  (applied, duplicate, retried, dead_lettered, malformed, skipped), redeliveries, dead letters, and
  ``vc_consumer_pending_events``: what the broker still holds for the consumer (NATS reports it
  with every delivery; the consumer lag).
- **Read at scrape time** (:class:`LiveCollector`, over the apps whose lifespan runs): the
  database pool (size, checked out, overflow), the outbox (pending, dead, age of the oldest
  unsent event, published total), whether the broker is connected, and each service's own
  :class:`SqlGauge` (focus sessions running, reminder and email queues), queried by the
  ``/metrics`` handler with a short timeout before the registry is rendered.

Prometheus scrapes ``/metrics`` on each pod's own port; the gateway never routes it (no
platform.toml route matches it, ``tests/ops`` checks that), and the gateway's own metrics listen
on a separate port (``GATEWAY_METRICS_PORT``) that the Ingress does not expose.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("vc.metrics")

# Latency buckets (seconds): 5 ms .. 10 s, the span of an API call here.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
SCRAPE_TIMEOUT = 2.0

HTTP_REQUESTS = Counter(
    "vc_http_requests",
    "HTTP requests answered, by route template and status code",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "vc_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template",
    ["service", "method", "route"],
    buckets=BUCKETS,
)
# service -> requests being answered now: a plain count (this runs on one event loop), read by
# LiveCollector as ``vc_http_requests_in_flight`` (a Gauge's lock per inc/dec costs more)
IN_FLIGHT: dict[str, int] = {}
WS_CONNECTIONS = Gauge(
    "vc_websocket_connections", "WebSocket connections open now", ["service", "route"]
)
WS_OPENED = Counter(
    "vc_websocket_connections_opened", "WebSocket connections accepted", ["service", "route"]
)
CONSUMER_EVENTS = Counter(
    "vc_consumer_events",
    "Event deliveries a consumer settled, by outcome "
    "(applied, duplicate, retried, dead_lettered, malformed, skipped)",
    ["consumer", "outcome"],
)
CONSUMER_REDELIVERIES = Counter(
    "vc_consumer_redeliveries", "Deliveries that were not the event's first", ["consumer"]
)
CONSUMER_DEAD_LETTERS = Counter(
    "vc_consumer_dead_letters",
    "Events a consumer gave up on (moved to its dead-letter queue)",
    ["consumer"],
)
CONSUMER_PENDING = Gauge(
    "vc_consumer_pending_events",
    "Events the broker still holds for the consumer after the last batch (consumer lag)",
    ["consumer"],
)
CONSUMER_BATCH = Histogram(
    "vc_consumer_batch_duration_seconds",
    "Time to apply and settle one batch of deliveries",
    ["consumer"],
    buckets=BUCKETS,
)
SCRAPE_ERRORS = Counter(
    "vc_metrics_scrape_errors",
    "Scrape-time readings that failed or timed out (the metric keeps its last value)",
    ["service", "reading"],
)


# --- requests and sockets -----------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The template of the route the router matched, never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None) if route is not None else None
    return path if isinstance(path, str) else UNMATCHED


class MetricsMiddleware:
    """Counts and times every HTTP request and WebSocket by route template (pure ASGI: the
    route is read from the scope after the router ran, no second match)."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        IN_FLIGHT.setdefault(service, 0)
        # (method, route, status) -> children: a labels() lookup per request costs more than this
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        IN_FLIGHT[self.service] += 1
        try:
            await self.app(scope, receive, send_status)
        finally:
            IN_FLIGHT[self.service] -= 1
            method = scope.get("method", "GET")
            route = route_template(scope)
            key = (method, route, str(status))
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = HTTP_REQUESTS.labels(self.service, *key)
            counter.inc()
            tkey = (method, route)
            timer = self._timers.get(tkey)
            if timer is None:
                timer = self._timers[tkey] = HTTP_DURATION.labels(self.service, *tkey)
            timer.observe(time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        gauge: Any = None

        async def send_accept(message: Message) -> None:
            nonlocal gauge
            await send(message)
            if message["type"] == "websocket.accept" and gauge is None:
                route = route_template(scope)
                WS_OPENED.labels(self.service, route).inc()
                gauge = WS_CONNECTIONS.labels(self.service, route)
                gauge.inc()

        try:
            await self.app(scope, receive, send_accept)
        finally:
            if gauge is not None:
                gauge.dec()


# --- consumers ----------------------------------------------------------------------------------


def consumer_observed(
    consumer: str,
    *,
    outcomes: dict[str, int],
    redeliveries: int,
    pending: int | None,
    seconds: float,
) -> None:
    """What ``Consumer.process`` did with one batch."""
    for outcome, n in outcomes.items():
        if n:
            CONSUMER_EVENTS.labels(consumer, outcome).inc(n)
    if redeliveries:
        CONSUMER_REDELIVERIES.labels(consumer).inc(redeliveries)
    dead = outcomes.get("dead_lettered", 0)
    if dead:
        CONSUMER_DEAD_LETTERS.labels(consumer).inc(dead)
    else:
        CONSUMER_DEAD_LETTERS.labels(consumer)  # the series exists (0) before the first one
    if pending is not None:
        CONSUMER_PENDING.labels(consumer).set(pending)
    CONSUMER_BATCH.labels(consumer).observe(seconds)


# --- read at scrape time ------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlGauge:
    """A gauge a service reads from its own database at scrape time: ``sql`` returns one number
    (``SELECT count(*) FROM focus_sessions WHERE end_time IS NULL``). Keep it to an index scan."""

    name: str
    documentation: str
    sql: str


class LiveCollector(Collector):
    """Reads the running apps' pools, relays and sampled gauges when the registry is rendered."""

    def __init__(self) -> None:
        self.apps: weakref.WeakSet[Any] = weakref.WeakSet()

    def describe(self) -> Iterable[Metric]:
        return []  # values come and go with the apps; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        apps = list(self.apps)
        pool = {
            name: GaugeMetricFamily(f"vc_db_pool_{name}", doc, labels=["service"])
            for name, doc in (
                ("size", "Connections the database pool keeps"),
                ("checked_out", "Pool connections in use now"),
                ("overflow", "Connections opened beyond the pool size"),
                ("idle", "Pool connections idle in the pool"),
            )
        }
        pending = GaugeMetricFamily(
            "vc_outbox_pending_events", "Committed events not yet published", labels=["service"]
        )
        oldest = GaugeMetricFamily(
            "vc_outbox_oldest_unsent_age_seconds",
            "Age of the oldest committed event not yet published (0 when none is pending)",
            labels=["service"],
        )
        dead = GaugeMetricFamily(
            "vc_outbox_dead_events",
            "Outbox rows set aside after too many attempts",
            labels=["service"],
        )
        published = CounterMetricFamily(
            "vc_outbox_published", "Events the relay published", labels=["service"]
        )
        connected = GaugeMetricFamily(
            "vc_event_bus_connected", "1 when the broker connection is up", labels=["service"]
        )
        sampled: dict[str, GaugeMetricFamily] = {}
        for app in apps:
            state = app.state
            service = state.settings.service_name
            db = getattr(state, "db", None)
            p = getattr(getattr(db, "engine", None), "pool", None) if db is not None else None
            if p is not None and hasattr(p, "checkedout"):
                pool["size"].add_metric([service], p.size())
                pool["checked_out"].add_metric([service], p.checkedout())
                pool["overflow"].add_metric([service], max(0, p.overflow()))
                pool["idle"].add_metric([service], p.checkedin())
            relay = getattr(state, "relay", None)
            if relay is not None:
                published.add_metric([service], relay.published)
                stats = relay.last_stats
                if stats is not None:
                    pending.add_metric([service], stats.pending)
                    oldest.add_metric([service], stats.lag_seconds)
                    if stats.dead is not None:
                        dead.add_metric([service], stats.dead)
            bus = getattr(state, "bus", None)
            if bus is not None:
                connected.add_metric([service], 1.0 if bus.connected else 0.0)
            for gauge, value in getattr(state, "metric_samples", {}).items():
                family = sampled.get(gauge.name)
                if family is None:
                    family = sampled[gauge.name] = GaugeMetricFamily(
                        gauge.name, gauge.documentation, labels=["service"]
                    )
                family.add_metric([service], value)
        in_flight = GaugeMetricFamily(
            "vc_http_requests_in_flight", "HTTP requests being answered now", labels=["service"]
        )
        for service, n in IN_FLIGHT.items():
            in_flight.add_metric([service], n)
        yield in_flight
        yield from pool.values()
        yield from (pending, oldest, dead, published, connected)
        yield from sampled.values()


LIVE = LiveCollector()
REGISTRY.register(LIVE)


def register_app(app: Any) -> None:
    """Report ``app``'s pool, relay and gauges while its lifespan runs."""
    LIVE.apps.add(app)


def unregister_app(app: Any) -> None:
    LIVE.apps.discard(app)


async def refresh(app: Any) -> None:
    """Scrape-time readings that need the database: the outbox's stats and the service's
    :class:`SqlGauge` values. A reading that fails keeps its last value and counts an error."""
    from sqlalchemy import text

    state = app.state
    service = state.settings.service_name
    relay = getattr(state, "relay", None)
    if relay is not None:
        try:
            await asyncio.wait_for(relay.stats(), SCRAPE_TIMEOUT)
        except Exception:
            SCRAPE_ERRORS.labels(service, "outbox").inc()
    gauges: tuple[SqlGauge, ...] = getattr(state, "metric_gauges", ())
    db = getattr(state, "db", None)
    if not gauges or db is None:
        return
    samples: dict[SqlGauge, float] = state.metric_samples

    async def read() -> None:
        async with db.sessionmaker() as session:
            for gauge in gauges:
                try:
                    value = (await session.execute(text(gauge.sql))).scalar()
                    samples[gauge] = float(value or 0)
                except Exception:
                    SCRAPE_ERRORS.labels(service, gauge.name).inc()
                    log.warning("metric %s could not be read", gauge.name, exc_info=True)
                    await session.rollback()

    try:
        await asyncio.wait_for(read(), SCRAPE_TIMEOUT)
    except Exception:
        SCRAPE_ERRORS.labels(service, "database").inc()


def render() -> tuple[bytes, str]:
    """The process's registry in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def metrics_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        await refresh(request.app)
        body, kind = render()
        return Response(body, media_type=kind, headers={"Cache-Control": "no-store"})

    return router
