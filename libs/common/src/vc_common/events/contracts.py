"""Event contracts: validate a CloudEvent against ``contracts/events``.

``validate_event(payload)`` checks the envelope against ``contracts/events/_envelope.json`` and
``payload["data"]`` against the schema of its type, ``contracts/events/<type>.v<N>.json``. The
version is the one named by the envelope's ``dataschema`` (``.../<type>.v2.json``) if present,
else the highest ``v<N>`` in the folder. The folder is ``$CONTRACTS_DIR`` or the first
``contracts/events`` found walking up from the working directory (then from this file).
Producer tests of every service call it on the outbox rows they wrote::

    validate_event(row.payload)

Schemas describe what producers must send; consumers ignore fields they do not know, so adding
an optional field is compatible and does not need a new version (see ``contracts/README.md``).
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator, FormatChecker

_VERSIONED = re.compile(r"^(?P<type>.+)\.v(?P<version>\d+)\.json$")


class ContractError(ValueError):
    """The event does not match its contract; ``errors`` lists every violation."""

    def __init__(self, message: str, errors: list[str]) -> None:
        super().__init__(message + ("\n  - " + "\n  - ".join(errors) if errors else ""))
        self.errors = errors


def contracts_dir(start: Path | None = None) -> Path:
    env = os.environ.get("CONTRACTS_DIR")
    if env:
        path = Path(env)
        return path / "events" if (path / "events").is_dir() else path
    for base in (start or Path.cwd(), Path(__file__).resolve()):
        for d in (base, *base.parents):
            candidate = d / "contracts" / "events"
            if (candidate / "_envelope.json").is_file():
                return candidate
    raise FileNotFoundError("no contracts/events/_envelope.json found (set CONTRACTS_DIR)")


@cache
def _validator(path: Path) -> Draft202012Validator:
    schema = orjson.loads(path.read_bytes())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_versions(event_type: str, folder: Path | None = None) -> dict[int, Path]:
    folder = folder or contracts_dir()
    out: dict[int, Path] = {}
    for p in folder.glob(f"{event_type}.v*.json"):
        m = _VERSIONED.match(p.name)
        if m and m["type"] == event_type:
            out[int(m["version"])] = p
    return out


def schema_path(event_type: str, version: int | None = None, folder: Path | None = None) -> Path:
    versions = schema_versions(event_type, folder)
    if not versions:
        raise ContractError(
            f"no schema for event type {event_type!r}",
            [f"add contracts/events/{event_type}.v1.json"],
        )
    if version is None:
        version = max(versions)
    if version not in versions:
        raise ContractError(f"no schema {event_type}.v{version}.json", [])
    return versions[version]


def _errors(validator: Draft202012Validator, instance: Any, where: str) -> list[str]:
    return [
        f"{where}{'/' + '/'.join(map(str, e.absolute_path)) if e.absolute_path else ''}: "
        f"{e.message}"
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


def validate_event(payload: dict[str, Any], *, folder: Path | None = None) -> None:
    """Raise :class:`ContractError` unless ``payload`` is a valid CloudEvent of a known type."""
    folder = folder or contracts_dir()
    errors = _errors(_validator(folder / "_envelope.json"), payload, "envelope")
    if errors:
        raise ContractError("the CloudEvents envelope is invalid", errors)
    event_type = payload["type"]
    version = None
    dataschema = payload.get("dataschema")
    if isinstance(dataschema, str):
        m = _VERSIONED.match(dataschema.rsplit("/", 1)[-1])
        if m and m["type"] == event_type:
            version = int(m["version"])
    path = schema_path(event_type, version, folder)
    errors = _errors(_validator(path), payload.get("data"), "data")
    if errors:
        raise ContractError(f"{event_type} does not match {path.name}", errors)


def _placeholder(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """The plainest value the (sub)schema accepts, for a field a test leaves out."""
    if "$ref" in schema:
        return _placeholder(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = schema[key]
            null = next((o for o in options if o.get("type") == "null"), None)
            return None if null is not None else _placeholder(options[0], defs)
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        if "null" in kind:
            return None
        kind = kind[0]
    if kind == "object":
        props = schema.get("properties", {})
        out = {k: _placeholder(props.get(k, {}), defs) for k in schema.get("required", [])}
        extra = schema.get("additionalProperties")
        while len(out) < int(schema.get("minProperties", 0)):
            sub = extra if isinstance(extra, dict) else {}
            out[f"field{len(out)}"] = _placeholder(sub, defs)
        return out
    if kind == "array":
        n = int(schema.get("minItems", 0))
        return [_placeholder(schema.get("items", {}), defs) for _ in range(n)]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    fmt = schema.get("format")
    if fmt == "uuid":
        import uuid

        return str(uuid.uuid4())
    if fmt == "date-time":
        return "2026-11-24T09:00:00.000000Z"
    if fmt == "date":
        return "2026-11-24"
    if fmt in ("uri", "iri"):
        return "https://example.invalid/x"
    if fmt == "email":
        return "someone@example.com"
    return "x" * max(1, int(schema.get("minLength", 1)))


def complete_data(
    event_type: str, data: dict[str, Any], *, folder: Path | None = None
) -> dict[str, Any]:
    """``data`` with every required field its schema names and it lacks, filled with a plain
    valid value (nested objects too). For consumer tests: they state the fields their handler
    reads; the producer's schema guarantees the rest exists, and this supplies it, so a producer
    adding a required field never breaks the tests of its consumers."""
    schema = orjson.loads(schema_path(event_type, folder=folder).read_bytes())
    defs = schema.get("$defs", {})

    def fill(node: Any, sub: dict[str, Any]) -> Any:
        if not isinstance(node, dict) or sub.get("type") not in (None, "object"):
            return node
        props = sub.get("properties", {})
        out = dict(node)
        for key in sub.get("required", []):
            if key not in out:
                out[key] = _placeholder(props.get(key, {}), defs)
        for key, value in out.items():
            if isinstance(value, dict) and isinstance(props.get(key), dict):
                out[key] = fill(value, props[key])
        return out

    completed: dict[str, Any] = fill(data, schema)
    return completed
