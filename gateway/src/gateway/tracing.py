"""``X-Request-ID`` and W3C ``traceparent`` for every proxied request.

Without an OTLP endpoint there is nothing to export the gateway's own spans to, so the gateway
continues the client's trace (same trace id, a new parent id) or starts one by hand: a few hundred
nanoseconds. Ids come from ``random.getrandbits`` (as OpenTelemetry's own id generator; reseeded
in a forked worker), not ``os.urandom``: they name requests, they protect nothing, and a system
call each is measurable here. With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set it opens a real
OpenTelemetry server span per request (via ``vc_common.telemetry``) and sends that span's context
upstream.
"""

from __future__ import annotations

import re
from random import getrandbits
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from vc_common.telemetry import extract_context

_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


def request_id(incoming: str | None) -> str:
    """The client's id when it is sane (1-128 of ``[A-Za-z0-9._:-]``), else a new one."""
    if incoming and _SANE_ID.fullmatch(incoming):
        return incoming
    return f"{getrandbits(128):032x}"


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """``(trace_id, flags)`` of a valid W3C traceparent, else ``None``."""
    if not value:
        return None
    m = _TRACEPARENT.fullmatch(value.strip())
    if m is None:
        return None
    version, trace_id, parent_id, flags, rest = m.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    if version == "00" and rest:
        return None
    return trace_id, flags


def next_traceparent(incoming: str | None) -> str:
    """The traceparent to send upstream: the client's trace continued, or a new sampled one."""
    parsed = parse_traceparent(incoming)
    if parsed is None:
        return f"00-{getrandbits(128) or 1:032x}-{getrandbits(64) or 1:016x}-01"
    trace_id, flags = parsed
    return f"00-{trace_id}-{getrandbits(64) or 1:016x}-{flags}"


class OtelTracing:
    """One OpenTelemetry SERVER span per request, parent taken from the client's traceparent."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer("vc.gateway")

    def begin(self, name: str, traceparent: str | None, tracestate: str | None) -> tuple[Any, str]:
        carrier = {}
        if traceparent:
            carrier["traceparent"] = traceparent
            if tracestate:
                carrier["tracestate"] = tracestate
        parent = extract_context(carrier) if carrier else None
        span = self.tracer.start_span(name, context=parent, kind=SpanKind.SERVER)
        ctx = span.get_span_context()
        return span, f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"

    @staticmethod
    def end(span: Any, status: int) -> None:
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
