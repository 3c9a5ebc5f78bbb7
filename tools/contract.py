"""The platform's published contract, built from the code and checked for staleness.

    python tools/contract.py          write docs/api/openapi.json and docs/api/asyncapi.json
    python tools/contract.py --check  exit 1 when either file differs from what the code says
    python tools/contract.py --print-openapi   the merged OpenAPI on stdout (web/'s `npm run gen`)

- ``openapi.json``: the gateway's merged document (``gateway.openapi.merge``, the code that serves
  ``/openapi.json``), from each service's own app built in-process: no server, no network.
- ``asyncapi.json``: AsyncAPI 3.0 for the domain events (one channel per event type, its
  ``data`` schema from ``contracts/events`` inside the CloudEvents envelope, which service
  publishes it and which consumers receive it) and for the client WebSockets (``/api/v1/ws``,
  the live socket of the platform, and chat's per-room socket).

``make contract`` runs the first form; a test in ``tests/`` runs the second, so a change to a
route, a schema or an event that is not re-published fails CI.
"""

from __future__ import annotations

import importlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api"
EVENTS = ROOT / "contracts" / "events"


def _services() -> dict[str, dict[str, Any]]:
    data = tomllib.loads((ROOT / "platform.toml").read_text(encoding="utf-8"))
    return dict(data["services"])


def _app(spec: str) -> Any:
    module, factory = spec.split(":")
    return getattr(importlib.import_module(module), factory)()


def build_openapi() -> dict[str, Any]:
    from gateway.openapi import merge
    from gateway.routes import RouteTable, load_services

    services = _services()
    docs = {name: _app(table["app"]).openapi() for name, table in services.items()}
    table = RouteTable(load_services(ROOT / "platform.toml", env={}))
    return merge(docs, table)


def _consumers() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """``{service: [(consumer name, patterns)]}``, from each service's ``consumers`` module."""
    from vc_common.events.consumer import Consumer

    found: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for name, table in _services().items():
        package = table["app"].split(".")[0]
        try:
            module = importlib.import_module(f"{package}.consumers")
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if isinstance(value, Consumer):
                found.setdefault(name, []).append((value.name, value.patterns))
    return found


def _matches(pattern: str, event_type: str) -> bool:
    from vc_common.events.bus import matches

    return bool(matches(pattern, event_type))


def _ws_channels() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    frame = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}
    messages = {
        "LiveEvent": {
            "name": "event",
            "summary": "A domain event of one of the caller's teams, as the live socket pushes it",
            "payload": {
                "type": "object",
                "required": ["type", "event"],
                "properties": {
                    "type": {"const": "event"},
                    "event": {
                        "$ref": "#/components/schemas/CloudEvent",
                        "description": "without internal fields; its id is the resume point",
                    },
                },
            },
        },
        "Presence": {
            "name": "presence",
            "summary": "A member's status changed (focusing until, in a meeting, busy, online...)",
            "payload": {
                "type": "object",
                "required": ["type", "team_id", "user_id", "status"],
                "properties": {
                    "type": {"const": "presence"},
                    "team_id": {"type": "string", "format": "uuid"},
                    "user_id": {"type": "string", "format": "uuid"},
                    "status": {
                        "enum": ["focusing", "in_meeting", "busy", "online", "away", "offline"]
                    },
                    "until": {"type": ["string", "null"], "format": "date-time"},
                },
            },
        },
        "Resume": {
            "name": "resume",
            "summary": "Sent by the client after a reconnect: what it missed, in order, once",
            "payload": {
                "type": "object",
                "required": ["type", "after"],
                "properties": {
                    "type": {"const": "resume"},
                    "after": {"type": "string", "description": "the last event id received"},
                },
            },
        },
        "Auth": {
            "name": "auth",
            "summary": "Sent by the client: a fresh access token before the current one expires",
            "payload": {
                "type": "object",
                "required": ["type", "token"],
                "properties": {"type": {"const": "auth"}, "token": {"type": "string"}},
            },
        },
        "ControlFrame": {
            "name": "control",
            "summary": "ping/pong, auth.ok, auth.expiring, error frames",
            "payload": frame,
        },
        "RoomMessage": {
            "name": "message",
            "summary": "A chat message in the room (pushed), or one the client posts",
            "payload": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"const": "message"},
                    "message": {"type": "object"},
                    "content": {"type": "string"},
                },
            },
        },
    }
    channels = {
        "live": {
            "address": "/api/v1/ws",
            "servers": [{"$ref": "#/servers/gateway"}],
            "description": "One socket per client for every team of the user "
            "(access token as ?token= or an auth frame). Close 4401: token expired or revoked.",
            "messages": {
                k: {"$ref": f"#/components/messages/{k}"}
                for k in ("LiveEvent", "Presence", "Resume", "Auth", "ControlFrame")
            },
        },
        "room": {
            "address": "/api/v1/rooms/{room_id}/ws",
            "servers": [{"$ref": "#/servers/gateway"}],
            "parameters": {"room_id": {"description": "the room (uuid)"}},
            "messages": {
                k: {"$ref": f"#/components/messages/{k}"}
                for k in ("RoomMessage", "Presence", "Auth", "ControlFrame")
            },
        },
    }
    operations = {
        "receiveLive": {"action": "receive", "channel": {"$ref": "#/channels/live"}},
        "sendLive": {
            "action": "send",
            "channel": {"$ref": "#/channels/live"},
            "messages": [
                {"$ref": "#/channels/live/messages/Resume"},
                {"$ref": "#/channels/live/messages/Auth"},
            ],
        },
        "receiveRoom": {"action": "receive", "channel": {"$ref": "#/channels/room"}},
        "sendRoom": {
            "action": "send",
            "channel": {"$ref": "#/channels/room"},
            "messages": [{"$ref": "#/channels/room/messages/RoomMessage"}],
        },
    }
    return channels, operations, messages


def build_asyncapi() -> dict[str, Any]:
    envelope = json.loads((EVENTS / "_envelope.json").read_text(encoding="utf-8"))
    envelope.pop("$schema", None)
    envelope.pop("$id", None)
    consumers = _consumers()
    schemas: dict[str, Any] = {"CloudEvent": envelope}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for path in sorted(EVENTS.glob("*.v*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        event_type, version = path.name.removesuffix(".json").rsplit(".v", 1)
        key = f"{event_type.replace('.', '_')}_v{version}"
        schema.pop("$schema", None)
        schema.pop("$id", None)
        schemas[key] = schema
        subscribers = sorted(
            f"{service}/{name}"
            for service, found in consumers.items()
            for name, patterns in found
            if any(_matches(p, event_type) for p in patterns)
        )
        messages[key] = {
            "name": event_type,
            "title": f"{event_type} v{version}",
            "summary": schema.get("description", ""),
            "contentType": "application/cloudevents+json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": event_type},
                            "data": {"$ref": f"#/components/schemas/{key}"},
                        },
                    },
                ]
            },
            "x-consumers": subscribers,
        }
        channels[key] = {
            "address": event_type,
            "description": "NATS subject (stream EVENTS_<CONTEXT>) or RabbitMQ routing key on "
            "the topic exchange vc.events",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"published by {event_type.split('.')[0]} through its outbox",
        }
    ws_channels, ws_operations, ws_messages = _ws_channels()
    channels.update(ws_channels)
    operations.update(ws_operations)
    messages.update(ws_messages)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "VirtualCoworking events and sockets",
            "version": "1.0.0",
            "description": "Domain events (CloudEvents 1.0, at-least-once, ordered per subject; "
            "consumers are idempotent) and the client WebSockets. Event schemas: "
            "contracts/events.",
        },
        "servers": {
            "nats": {"host": "127.0.0.1:4222", "protocol": "nats", "description": "JetStream"},
            "rabbitmq": {"host": "127.0.0.1:5672", "protocol": "amqp"},
            "gateway": {"host": "127.0.0.1:8000", "protocol": "ws"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def documents() -> dict[Path, str]:
    return {
        OUT / "openapi.json": render(build_openapi()),
        OUT / "asyncapi.json": render(build_asyncapi()),
    }


def main(argv: list[str]) -> int:
    import logging

    logging.disable(logging.WARNING)  # the apps' start-up logs are not the point here
    if "--print-openapi" in argv:
        sys.stdout.write(render(build_openapi()))
        return 0
    stale = []
    for path, text in documents().items():
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        if "--check" in argv:
            stale.append(path.relative_to(ROOT))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"stale: {', '.join(map(str, stale))}; run `make contract`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
