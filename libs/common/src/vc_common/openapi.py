"""What every service's OpenAPI document says beyond what FastAPI writes by itself.

- Error answers are RFC 9457 problems: ``Problem`` and ``ValidationProblem`` (``errors[]`` with
  ``loc``/``msg``/``type``) are defined, and every 422 documents the problem the handlers send
  (FastAPI's own ``HTTPValidationError`` is never sent, so it is not described).
- Schema names are identifiers: ``Page[UserRead]`` and ``Page_FocusSessionRead_`` (two spellings
  of pydantic's generic names) both become ``PageUserRead`` / ``PageFocusSessionRead``, so a
  generated client gets clean, consistent type names.
- One security scheme, ``bearerAuth`` (see ``vc_common.auth``), in every service and in the
  gateway's merged document.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from vc_common.errors import PROBLEM_JSON

_ERROR_ITEM = {
    "type": "object",
    "required": ["loc", "msg"],
    "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
        "type": {"type": "string"},
    },
}
PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "An RFC 9457 problem document.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
        },
        "additionalProperties": True,
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "description": "A 422 problem: `errors` points at each invalid field.",
        "allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {
                "type": "object",
                "required": ["errors"],
                "properties": {"errors": {"type": "array", "items": _ERROR_ITEM}},
            },
        ],
    },
}
_UNUSED = ("HTTPValidationError", "ValidationError")
_CLEAN = re.compile(r"[^A-Za-z0-9]")


def clean_name(name: str) -> str:
    return _CLEAN.sub("", name) or name


def _rewrite(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (renames.get(v, v) if k == "$ref" and isinstance(v, str) else _rewrite(v, renames))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(v, renames) for v in node]
    return node


def finish(doc: dict[str, Any]) -> dict[str, Any]:
    components = doc.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    renames: dict[str, str] = {}
    for name in list(schemas):
        new = clean_name(name)
        if new != name and new not in schemas:
            renames[f"#/components/schemas/{name}"] = f"#/components/schemas/{new}"
    doc = _rewrite(doc, renames)
    schemas = {
        renames.get(f"#/components/schemas/{k}", k).rsplit("/", 1)[-1]: v
        for k, v in doc["components"]["schemas"].items()
    }
    for name in _UNUSED:
        schemas.pop(name, None)
    schemas.update(PROBLEM_SCHEMAS)
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    validation = {
        "description": "Validation error",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ValidationProblem"}}},
    }
    for item in (doc.get("paths") or {}).values():
        for method, op in item.items():
            if not isinstance(op, dict) or method not in _METHODS:
                continue
            responses = op.setdefault("responses", {})
            for code in _answers(method, op):
                responses.setdefault(code, _problem(code))
            responses["422"] = validation
    return doc


_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
_PHRASES = {
    "400": "Malformed request (a body that is not JSON)",
    "401": "Missing, expired, tampered or revoked access token",
    "403": "Seen but not allowed",
    "404": "Not found, or not the caller's to see",
    "409": "Conflicts with the current state",
    "413": "Request body too large",
    "414": "URL longer than the gateway reads (8 KiB)",
    "429": "Rate limited (see Retry-After)",
    "503": "A service or the database is unavailable; retry after Retry-After",
}


def _problem(code: str) -> dict[str, Any]:
    return {
        "description": _PHRASES[code],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _answers(method: str, op: dict[str, Any]) -> list[str]:
    """The error answers any route of the platform can give, whatever its handler says: every
    request can be unauthenticated, forbidden, rate limited, have a URL longer than the
    gateway reads (a query's longest values, percent-encoded, can pass it) or meet a service
    that is down (the app factory, the gateway and the permission table answer those); one
    with a body can be malformed or too large; a change can conflict; an id can name nothing
    visible."""
    codes = ["400", "401", "403", "404", "414", "429", "503"]
    if method != "get":
        codes.append("409")
    if "requestBody" in op:
        codes.append("413")
    return codes


WEBSOCKETS = "x-websockets"


def websocket_paths(app: FastAPI) -> dict[str, Any]:
    """The app's WebSocket routes, which OpenAPI cannot describe: ``{path: {"parameters":
    [names]}}``, under ``x-websockets``, so a client (and the cross-team test) finds them in
    the document like every other route."""
    from fastapi.routing import APIWebSocketRoute, iter_route_contexts
    from starlette.routing import WebSocketRoute

    out: dict[str, Any] = {}
    for rc in iter_route_contexts(app.routes):
        route = getattr(rc, "original_route", rc)
        if isinstance(route, APIWebSocketRoute | WebSocketRoute):
            path = str(getattr(rc, "path", route.path))
            out[path] = {"parameters": sorted(route.param_convertors)}
    return dict(sorted(out.items()))


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the finished document (computed once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
            sockets = websocket_paths(app)
            if sockets:
                app.openapi_schema[WEBSOCKETS] = sockets
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
