"""Reading the gateway's merged OpenAPI document: its operations, their id parameters, and a
minimal valid body for each (so a refusal is the route's rule, not the body's validation)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

METHODS = ("get", "put", "post", "patch", "delete")
PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def public(self) -> bool:
        return self.spec.get("security") == []

    def path_params(self) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == "path"]

    def id_params(self) -> list[str]:
        """Path parameters that name a resource (a UUID)."""
        return [
            p["name"] for p in self.path_params() if p.get("schema", {}).get("format") == "uuid"
        ]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def operations(doc: dict[str, Any]) -> Iterator[Operation]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield Operation(method, path, item[method])


def fill(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values[m.group(1)], path)


class Bodies:
    """A minimal body that validates against the operation's JSON schema: required properties
    only, each the simplest value of its type (ids from ``ids`` where the name says which)."""

    def __init__(self, doc: dict[str, Any], ids: dict[str, str]) -> None:
        self.schemas = doc["components"]["schemas"]
        self.ids = ids
        self._minutes = 0  # each timestamp a little later than the last: an end after its start

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def value(self, schema: dict[str, Any], name: str = "") -> Any:
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if self._resolve(o).get("type") != "null"]
                return self.value(options[0], name) if options else None
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._resolve(part))
            return self.value(merged, name)
        kind = schema.get("type")
        fmt = schema.get("format")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            # nothing required (one of several alternatives is): the one that names a resource
            names = schema.get("required") or [k for k in props if k in self.ids][:1]
            return {k: self.value(props[k], k) for k in names if k in props}
        if kind == "array":
            n = schema.get("minItems", 0)
            return [self.value(schema.get("items", {}), name) for _ in range(n)]
        if kind == "integer":
            return max(int(schema.get("minimum", 1)), int(schema.get("exclusiveMinimum", 0)) + 1)
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        if fmt == "uuid":
            return self.ids.get(name, self.ids.get(name.removesuffix("s"), self.ids["team_id"]))
        self._minutes += 30
        now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1, minutes=self._minutes)
        if fmt == "date-time":
            return now.strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "date":
            return now.date().isoformat()
        if fmt == "email":
            return "someone@example.com"
        if fmt in ("uri", "url"):
            return "https://example.com/"
        if "pattern" in schema and "#" in schema["pattern"]:
            return "#336699"
        return "x" * max(1, schema.get("minLength", 1))

    def request(self, op: Operation) -> dict[str, Any]:
        """httpx keyword arguments: the body (JSON, or a small multipart file) and the required
        query parameters."""
        kw: dict[str, Any] = {}
        content = op.spec.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            kw["json"] = self.value(content["application/json"].get("schema", {}))
        elif "multipart/form-data" in content:
            kw["files"] = {"file": ("probe.txt", b"probe", "text/plain")}
        query = {
            p["name"]: self.value(p.get("schema", {}), p["name"])
            for p in op.spec.get("parameters", [])
            if p.get("in") == "query" and p.get("required")
        }
        if query:
            kw["params"] = query
        return kw
