"""One trace across the gateway, the service, the outbox, the relay and the consumer: real
servers on loopback sockets (the gateway on aiohttp, the service on uvicorn), real PostgreSQL and
NATS JetStream, the spans read from the OpenTelemetry in-memory exporter of this process."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from gateway.app import create_app as create_gateway
from gateway.routes import Service
from gateway.server import serve
from gateway.settings import GatewaySettings
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from vc_common.ports import free_port
from vc_common.telemetry import memory_exporter
from vc_common.testing.plugin import wait_for
from vc_obs_kit import CREATED, serving


async def test_one_trace_from_the_gateway_span_to_the_consumer(live_app: Any) -> None:
    exporter = memory_exporter()
    assert exporter is not None, "ENVIRONMENT=test installs the in-memory exporter"
    async with serving(live_app) as addr:
        settings = GatewaySettings(
            gateway_host="127.0.0.1",
            gateway_port=free_port(),
            # spans on: setup_tracing already ran (in memory), so nothing is sent here
            otel_exporter_otlp_endpoint="http://127.0.0.1:9",
            gateway_rate_per_ip="off",
            gateway_rate_per_user="off",
            gateway_access_log=False,
            redis_url=None,
        )
        upstream = Service(
            name="obs",
            base_url=f"http://{addr}",
            routes=("/api/v1/notes/**",),
            public=("POST /api/v1/notes/*",),
        )
        app = create_gateway(settings, services=[upstream])
        stop, started = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(serve(settings, app=app, stop=stop, started=started))
        try:
            await asyncio.wait_for(started.wait(), 10)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.gateway_port}") as c:
                resp = await c.post("/api/v1/notes/traced")
            assert resp.status_code == 201, resp.text
            trace_id = resp.headers.get("traceparent", "").split("-")[1:2]
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    def spans() -> list[ReadableSpan]:
        return list(exporter.get_finished_spans())

    def named(name: str) -> list[ReadableSpan]:
        return [s for s in spans() if s.name == name]

    async def consumed() -> list[ReadableSpan]:
        return named(f"{CREATED} process")

    await wait_for(consumed, within=60)
    (gateway_span,) = [
        s
        for s in named("POST /api/v1/notes/traced")
        if s.instrumentation_scope is not None and s.instrumentation_scope.name == "vc.gateway"
    ]
    trace = gateway_span.context.trace_id
    if trace_id:
        assert trace_id[0] == format(trace, "032x")  # the client was told its trace
    in_trace = [s for s in spans() if s.context.trace_id == trace]
    by_id = {s.context.span_id: s for s in in_trace}

    def parent_of(span: ReadableSpan) -> ReadableSpan:
        assert span.parent is not None, span.name
        return by_id[span.parent.span_id]

    (service_span,) = [s for s in in_trace if s.kind == SpanKind.SERVER and s is not gateway_span]
    (create,) = [s for s in in_trace if s.name == f"{CREATED} create"]
    # one publish, or more when the broker's ack was late and the relay tried again
    publishes = [s for s in in_trace if s.name == f"{CREATED} publish"]
    assert publishes
    (process,) = [s for s in in_trace if s.name == f"{CREATED} process"]
    assert gateway_span.kind == SpanKind.SERVER
    assert parent_of(service_span) is gateway_span
    assert parent_of(create) is service_span
    assert create.kind == SpanKind.PRODUCER
    for publish in publishes:
        assert parent_of(publish) is create
        assert publish.kind == SpanKind.PRODUCER
    assert parent_of(process) is create
    assert process.kind == SpanKind.CONSUMER
    assert process.attributes is not None
    assert create.attributes is not None
    assert process.attributes["messaging.message.id"] == create.attributes["messaging.message.id"]
