"""``X-Request-ID`` and W3C ``traceparent`` for every request (pure ASGI, no per-request task).

The request id is echoed when the client sent a sane one, generated otherwise, put in the logs'
context and on the response. The incoming ``traceparent`` becomes the parent of a server span, so
a trace goes on across the gateway, the service and the events the request causes.
"""

from __future__ import annotations

import re
import uuid

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vc_common.logging import request_id_var
from vc_common.telemetry import exporting, extract_context, lightweight_span

_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.tracer = trace.get_tracer(f"vc.{service}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid: str | None = None
        carrier: dict[str, str] = {}
        for k, v in scope.get("headers", ()):
            if k == b"x-request-id":
                cand = v.decode("latin-1")
                rid = cand if _SANE.match(cand) else None
            elif k in (b"traceparent", b"tracestate"):
                carrier[k.decode()] = v.decode("latin-1")
        rid = rid or uuid.uuid4().hex
        scope["vc_request_id"] = rid
        rid_token = request_id_var.set(rid)
        parent = extract_context(carrier) if carrier else None
        name = f"{scope.get('method', 'WS')} {scope['path']}"
        if exporting():
            span = self.tracer.start_span(
                name,
                context=parent,
                kind=SpanKind.SERVER,
                attributes={"http.request_id": rid, "url.path": scope["path"]},
            )
        else:
            span = lightweight_span(parent)
        ctx_token = otel_context.attach(trace.set_span_in_context(span))
        rid_header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), rid_header]
                status = int(message["status"])
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR))
            raise
        finally:
            span.end()
            otel_context.detach(ctx_token)
            request_id_var.reset(rid_token)
