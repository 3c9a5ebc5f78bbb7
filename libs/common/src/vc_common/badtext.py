"""Text no service can store, refused at the door: 422 problem+json, before any route runs.

PostgreSQL cannot store a NUL character in ``text``, and a lone UTF-16 surrogate (``"\\ud800"``
in JSON) is not a character at all: it cannot be encoded to UTF-8. Either one reaching a query
used to answer 500. One pure ASGI middleware (installed by the app factory for every service)
refuses both wherever a client can put text: the JSON body (keys and values, however deep), the
query string and the path. A JSON body nested deeper than any API needs is refused the same way
(the stdlib parser would otherwise raise ``RecursionError``).

The body is parsed with orjson, which refuses lone surrogates by itself and is fast enough that
the second parse (FastAPI's) is what costs; a body orjson cannot read is handed on unchanged, so
malformed JSON still gets FastAPI's 400.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vc_common.errors import problem
from vc_common.strictness import SchemaIndex, type_problems

MAX_DEPTH = 64  # far deeper than any request body of the platform


def _has_nul(node: Any, depth: int = 0) -> bool:
    if isinstance(node, str):
        return "\x00" in node
    if depth > MAX_DEPTH:
        raise RecursionError
    if isinstance(node, dict):
        return any("\x00" in k or _has_nul(v, depth + 1) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_nul(v, depth + 1) for v in node)
    return False


_MALFORMED = object()


def parse_body(body: bytes) -> tuple[str | None, Any]:
    """Why ``body`` (a JSON document) cannot be accepted (or ``None``), and the document (or
    ``_MALFORMED`` when it is not JSON: FastAPI then answers 400)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # the stdlib reads lone surrogates, so a body it reads holds one
            json.loads(body)
        except RecursionError:
            return "The JSON body is nested too deeply.", _MALFORMED
        except ValueError:
            return None, _MALFORMED
        return "The JSON body holds a lone surrogate (not a Unicode character).", _MALFORMED
    try:
        if b"\\u0000" in body and _has_nul(doc):
            return "Text may not contain the NUL character (\\u0000).", doc
        if b"[" in body or b"{" in body:
            _has_nul(doc)  # the depth bound
    except RecursionError:
        return "The JSON body is nested too deeply.", _MALFORMED
    return None, doc


def text_problem(doc: Any) -> str | None:
    """Why an already parsed JSON document (a WebSocket frame) cannot be accepted, or ``None``:
    the same rule as for request bodies."""
    try:
        return "Text may not contain the NUL character (\\u0000)." if _has_nul(doc) else None
    except RecursionError:
        return "The JSON document is nested too deeply."


def body_problem(body: bytes) -> str | None:
    """Why ``body`` (a JSON document) cannot be accepted, or ``None``."""
    return parse_body(body)[0]


def _index(scope: Scope) -> SchemaIndex | None:
    app: Any = scope.get("app")
    openapi = getattr(app, "openapi", None)
    if app is None or openapi is None:
        return None
    index: SchemaIndex | None = getattr(app.state, "schema_index", None)
    if index is None:
        index = app.state.schema_index = SchemaIndex(openapi())
    return index


def _query_problem(raw: bytes) -> str | None:
    if b"\x00" in raw or b"%00" in raw:
        for part in raw.replace(b"+", b" ").split(b"&"):
            if b"\x00" in unquote_to_bytes(part):
                return "Query parameters may not contain the NUL character."
    return None


def _json_body_expected(scope: Scope) -> bool:
    ctype: bytes | None = None
    has_body = False
    for k, v in scope.get("headers", ()):
        if k == b"content-type":
            ctype = v.split(b";", 1)[0].strip().lower()
        elif k == b"content-length":
            has_body = v.strip() not in (b"0", b"")
        elif k == b"transfer-encoding":
            has_body = True
    if not has_body:
        return False
    # FastAPI reads a body without a Content-Type as JSON
    return ctype is None or ctype == b"application/json" or ctype.endswith(b"+json")


class BadTextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        why = _query_problem(scope.get("query_string", b""))
        where = "query"
        if why is None and "\x00" in scope.get("path", ""):
            why, where = "The path may not contain the NUL character.", "path"
        doc: Any = None
        if why is None and scope["type"] == "http" and _json_body_expected(scope):
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    await self.app(scope, _replay([message], receive), send)
                    return
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            why, doc = parse_body(body) if body else (None, None)
            where = "body"
            if why is None:
                receive = _replay(
                    [{"type": "http.request", "body": body, "more_body": False}], receive
                )
        errors = [{"loc": [where], "msg": why, "type": "bad_text"}] if why else []
        if not errors and scope["type"] == "http":
            index = _index(scope)
            if index is not None:
                errors = type_problems(
                    index,
                    scope["method"],
                    scope.get("path", ""),
                    scope.get("query_string", b""),
                    None if doc is _MALFORMED else doc,
                )
                why = "The request is not valid; see `errors`." if errors else None
        if why is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})
            return
        response = problem(
            422,
            why,
            slug="validation-error",
            title="Validation error",
            errors=errors,
            instance=scope.get("path"),
        )
        await response(scope, receive, send)


def _replay(messages: list[Message], then: Receive) -> Receive:
    """``messages`` first, then the client's own (a disconnect arrives when it happens)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
