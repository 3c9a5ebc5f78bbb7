"""The JSON types the OpenAPI document promises, held to at the door.

FastAPI validates a body with pydantic in Python (lax) mode, after ``json.loads``: ``0`` and
``1`` pass as booleans, ``false`` as the integer 0, and ``0`` or ``"0"`` as a date or a
timestamp (1970-01-01). The document says ``boolean``, ``integer``, ``format: date``, so a
generated client's idea and the server's differed. :func:`type_problems` checks a request's
JSON body, query and path values against the operation's own schema (from ``app.openapi()``):
a boolean must be ``true``/``false``, an integer a JSON integer (never a boolean), a ``date``
``YYYY-MM-DD`` and a ``date-time`` an RFC 3339 timestamp. Only those; pydantic does the rest.
Every route is covered, a new one too, because the rule reads the same document clients do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# the rest of a timestamp is pydantic's to judge; a number ("0", 1700000000) never is one
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ].*)?$")
_METHODS = ("get", "put", "post", "patch", "delete")


@dataclass(frozen=True)
class _Operation:
    pattern: re.Pattern[str]
    path_names: tuple[str, ...]
    query: dict[str, dict[str, Any]]
    path: dict[str, dict[str, Any]]
    body: dict[str, Any] | None


class SchemaIndex:
    """The operations of one OpenAPI document, found by method and concrete path."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = (doc.get("components") or {}).get("schemas") or {}
        self.ops: dict[str, list[_Operation]] = {m: [] for m in _METHODS}
        for template, item in (doc.get("paths") or {}).items():
            names = tuple(re.findall(r"{(\w+)}", template))
            regex = re.escape(template)
            for name in names:
                regex = regex.replace(re.escape("{" + name + "}"), "([^/]+)")
            pattern = re.compile(f"^{regex}$")
            for method in _METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                params = op.get("parameters") or []
                content = ((op.get("requestBody") or {}).get("content") or {}).get(
                    "application/json"
                )
                self.ops[method].append(
                    _Operation(
                        pattern,
                        names,
                        {p["name"]: p.get("schema", {}) for p in params if p.get("in") == "query"},
                        {p["name"]: p.get("schema", {}) for p in params if p.get("in") == "path"},
                        content.get("schema") if content else None,
                    )
                )
        # literal paths before templated ones (``/sessions/current`` before ``/sessions/{id}``)
        for ops in self.ops.values():
            ops.sort(key=lambda o: len(o.path_names))

    def find(self, method: str, path: str) -> tuple[_Operation, dict[str, str]] | None:
        for op in self.ops.get(method.lower(), ()):
            m = op.pattern.match(path)
            if m:
                return op, dict(zip(op.path_names, m.groups(), strict=True))
        return None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        return schema

    def check(
        self, schema: dict[str, Any], value: Any, loc: list[str | int], text: bool
    ) -> str | None:
        """Why ``value`` breaks the types of ``schema`` (``text``: a query or path value, which
        is always a string, so only its date formats are checked), or ``None``."""
        schema = self._resolve(schema)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            reasons = [self.check(b, value, loc, text) for b in branches]
            return None if any(r is None for r in reasons) else next(r for r in reasons if r)
        for part in schema.get("allOf") or ():
            why = self.check(part, value, loc, text)
            if why:
                return why
        kind = schema.get("type")
        fmt = schema.get("format")
        if value is None:
            return "null is not allowed" if kind not in (None, "null") else None
        if kind == "null":
            return "must be null"
        if isinstance(value, str) and fmt in ("date", "date-time"):
            ok = (_DATE if fmt == "date" else _DATETIME).match(value)
            return (
                None
                if ok
                else f"not a {'YYYY-MM-DD date' if fmt == 'date' else 'RFC 3339 timestamp'}"
            )
        if text:
            return None
        if kind == "boolean" and not isinstance(value, bool):
            return "must be true or false"
        if kind == "integer" and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not value.is_integer())
        ):
            return "must be an integer"
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            return "must be a number"
        if kind == "string" and fmt in ("date", "date-time") and not isinstance(value, str):
            return f"must be a {fmt} string"
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            for key, item in value.items():
                if key in props:
                    why = self.check(props[key], item, [*loc, key], text)
                    if why:
                        return why
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                why = self.check(schema["items"], item, [*loc, i], text)
                if why:
                    return why
        return None


def type_problems(
    index: SchemaIndex, method: str, path: str, query_string: bytes, body: Any
) -> list[dict[str, Any]]:
    """The request's values that break their documented JSON types, as problem ``errors``."""
    found = index.find(method, path)
    if found is None:
        return []
    op, path_values = found
    errors: list[dict[str, Any]] = []
    for name, value in path_values.items():
        if name in op.path:
            why = index.check(op.path[name], value, ["path", name], text=True)
            if why:
                errors.append({"loc": ["path", name], "msg": why, "type": "type_error"})
    if query_string:
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if name in op.query:
                why = index.check(op.query[name], value, ["query", name], text=True)
                if why:
                    errors.append({"loc": ["query", name], "msg": why, "type": "type_error"})
    if op.body is not None and body is not None:
        errors += _body_errors(index, op.body, body)
    return errors


def _body_errors(index: SchemaIndex, schema: dict[str, Any], body: Any) -> list[dict[str, Any]]:
    """One error per top-level field (the first thing wrong inside it), with its location."""
    resolved = index._resolve(schema)
    objects = [
        b
        for b in map(index._resolve, resolved.get("anyOf") or resolved.get("oneOf") or ())
        if b.get("properties")
    ]
    if isinstance(body, dict) and len(objects) == 1:  # an optional body: `X | None`
        resolved = objects[0]
    props = resolved.get("properties") or {}
    if not isinstance(body, dict) or not props:
        why = index.check(schema, body, ["body"], text=False)
        return [{"loc": ["body"], "msg": why, "type": "type_error"}] if why else []
    errors = []
    for key, value in body.items():
        if key in props:
            why = index.check(props[key], value, ["body", key], text=False)
            if why:
                errors.append({"loc": ["body", key], "msg": why, "type": "type_error"})
    return errors
