"""OpenTelemetry set-up: OTLP/HTTP export when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (with the
maintained httpx and SQLAlchemy instrumentations), an in-memory exporter for tests, and W3C
``traceparent`` propagation helpers for HTTP and events."""

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
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult

_memory_exporter: InMemorySpanExporter | None = None
_configured = False
_exporting = False
_instrumented = False


def setup_tracing(
    service_name: str, otlp_endpoint: str | None = None, *, in_memory: bool = False
) -> None:
    """Install a tracer provider once per process. Safe to call again (no-op)."""
    global _configured, _memory_exporter, _exporting, _instrumented
    if _configured:
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(root=NoOrphanClientSpans()),
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"))
        )
        # the maintained instrumentations, where spans are really exported (not in unit tests)
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        _instrumented = True
    if in_memory:
        _memory_exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_memory_exporter))
    trace.set_tracer_provider(provider)
    _exporting = bool(otlp_endpoint) or in_memory
    _configured = True


class NoOrphanClientSpans(Sampler):
    """The root sampler: a CLIENT span that starts a trace (a background loop's query or call,
    such as the relay polling its outbox every second) is dropped; everything else is kept. A
    query made while handling a request or an event is in that trace and recorded."""

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: trace.SpanKind | None = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        del parent_context, trace_id, name, links, trace_state  # the Sampler interface's
        if kind == trace.SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "NoOrphanClientSpans"


def instrument_engine(engine: Any) -> None:
    """Database spans (OpenTelemetry's SQLAlchemy instrumentation) for ``engine``, when spans are
    exported over OTLP."""
    if not _instrumented or not hasattr(engine, "sync_engine"):
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # it declares sqlalchemy < 2.1; the engine events it hooks are unchanged in 2.1 (the
    # process trace test checks the spans)
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, skip_dep_check=True)


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


def span_traceparent(span: trace.Span) -> str:
    """``span``'s context as a W3C ``traceparent``."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def current_traceparent() -> str | None:
    return inject_traceparent().get("traceparent")


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
