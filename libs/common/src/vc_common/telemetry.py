"""OpenTelemetry set-up: OTLP/HTTP export when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, an
in-memory exporter for tests, and W3C ``traceparent`` propagation helpers for HTTP and events."""

from __future__ import annotations

import random
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_memory_exporter: InMemorySpanExporter | None = None
_configured = False
_exporting = False


def setup_tracing(
    service_name: str, otlp_endpoint: str | None = None, *, in_memory: bool = False
) -> None:
    """Install a tracer provider once per process. Safe to call again (no-op)."""
    global _configured, _memory_exporter, _exporting
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"))
        )
    if in_memory:
        _memory_exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_memory_exporter))
    trace.set_tracer_provider(provider)
    _exporting = bool(otlp_endpoint) or in_memory
    _configured = True


def exporting() -> bool:
    """Whether spans go anywhere. When they don't, requests only carry the trace context on
    (a recording span per request cost ~10% of a simple request's CPU, for nothing)."""
    return _exporting


def lightweight_span(parent: otel_context.Context | None) -> trace.Span:
    """A non-recording span that continues ``parent``'s trace (or starts one), so that
    ``traceparent`` still flows to logs, outgoing calls and events without recording."""
    parent_ctx = trace.get_current_span(parent).get_span_context() if parent else None
    trace_id = (
        parent_ctx.trace_id if parent_ctx and parent_ctx.is_valid else random.getrandbits(128) or 1
    )
    flags = parent_ctx.trace_flags if parent_ctx and parent_ctx.is_valid else trace.TraceFlags(0)
    return trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=trace_id,
            span_id=random.getrandbits(64) or 1,
            is_remote=False,
            trace_flags=flags,
        )
    )


def memory_exporter() -> InMemorySpanExporter | None:
    return _memory_exporter


def tracer(name: str = "vc") -> trace.Tracer:
    return trace.get_tracer(name)


def inject_traceparent(carrier: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """The current context as ``traceparent``/``tracestate`` entries."""
    out: dict[str, str] = dict(carrier or {})
    propagate.inject(out)
    return out


def extract_context(carrier: Mapping[str, Any]) -> otel_context.Context:
    return propagate.extract({k: str(v) for k, v in carrier.items() if v is not None})


def current_traceparent() -> str | None:
    return inject_traceparent().get("traceparent")


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
