"""Who receives an event on the live socket, and the frame they receive.

- ``notifications.*``: the notification's recipient alone (``data.recipient_id``), never its team.
- ``realtime.presence.changed``: the members of its team, as a ``{"type":"presence",...}`` frame.
- any other event with a ``team_id``: the members of that team (the projection's answer at the
  moment the event passes through the stream, so a removed member stops receiving at once).
- an event without a team (a personal focus session, an integration): its ``user_id`` alone (a
  resource without a team is its owner's alone).
- ``teams.member.*`` and ``teams.team.deleted`` also carry the membership change the replicas
  apply to their sockets (``change``): the member concerned is told before being dropped, and
  an added member receives the event of their own addition.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from teams_client import events as teams_events
from vc_common.events.envelope import CloudEvent

PRESENCE_CHANGED = "realtime.presence.changed"

# the CloudEvents attributes a client sees; extensions (traceparent, ...) are internal
PUBLIC_ATTRIBUTES = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "data",
)


@dataclass(frozen=True, slots=True)
class Route:
    team_id: uuid.UUID | None
    recipient_id: uuid.UUID | None
    change: dict[str, Any] | None
    frame: str


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def public_event(event: CloudEvent) -> dict[str, Any]:
    full = event.to_dict()
    return {k: full[k] for k in PUBLIC_ATTRIBUTES if k in full}


def event_frame(event: CloudEvent) -> str:
    return orjson.dumps({"type": "event", "event": public_event(event)}).decode()


def presence_frame(event: CloudEvent) -> str:
    return orjson.dumps({"type": "presence", "id": str(event.id), **event.data}).decode()


def membership_change(event: CloudEvent) -> dict[str, Any] | None:
    data = event.data
    team = _uuid(data.get("team_id"))
    if team is None:
        return None
    if event.type == teams_events.TEAM_DELETED:
        return {"team": str(team), "deleted": True}
    if event.type not in (
        teams_events.MEMBER_ADDED,
        teams_events.MEMBER_ROLE_CHANGED,
        teams_events.MEMBER_REMOVED,
    ):
        return None
    try:
        member = teams_events.member_of(event)
        seq = int(data["seq"])
    except (KeyError, TypeError, ValueError):
        return None
    role = None if event.type == teams_events.MEMBER_REMOVED else data.get("role")
    return {"team": str(team), "user": str(member), "role": role, "seq": seq}


def route(event: CloudEvent) -> Route | None:
    """Where ``event`` goes, or None when nobody may see it."""
    data = event.data
    team = _uuid(data.get("team_id"))
    if event.context == "notifications":
        recipient = _uuid(data.get("recipient_id"))
        if recipient is None:
            return None
        return Route(None, recipient, None, event_frame(event))
    if event.type == PRESENCE_CHANGED:
        if team is None:
            return None
        return Route(team, None, None, presence_frame(event))
    if team is not None:
        return Route(team, None, membership_change(event), event_frame(event))
    owner = _uuid(data.get("user_id"))
    if owner is None:
        return None
    return Route(None, owner, None, event_frame(event))
