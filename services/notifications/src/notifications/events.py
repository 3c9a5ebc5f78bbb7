"""What notifications publishes, through the outbox in the transaction of the change.

- ``notifications.notification.delivered`` (subject: the recipient, so one user's deliveries stay
  in order; schema ``contracts/events/notifications.notification.delivered.v1.json``): a
  notification reached the user's inbox, now (made while nothing held it) or when its hold ended
  (``was_held``), or the digest of a hold (``kind: "digest"``). The live socket pushes it to the
  recipient's clients. ``user_id`` is the recipient (the system acts; nobody else may see it).

Deliveries are written many at a time (a consumer batch, a released hold): :func:`add_events`
inserts their outbox rows (the same columns and payload as ``vc_common.events.outbox.add_event``
writes) in one statement, and wakes the relay once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import uuid_utils
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from notifications.models import event_tables

SOURCE = "notifications"
NOTIFICATION_DELIVERED = "notifications.notification.delivered"
PUBLISHED = (NOTIFICATION_DELIVERED,)


def ts(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``, as every producer writes times."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def delivered(
    row: dict[str, Any], *, was_held: bool, traceparent: str | None, time: str
) -> dict[str, Any]:
    """The CloudEvent (as its outbox payload) of one delivered notification row (the columns of
    ``notifications``), ``time`` as :func:`ts` wrote it. Built as a plain dict: a consumer batch
    writes hundreds at once."""
    recipient = str(row["recipient_id"])
    payload: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid_utils.uuid7()),
        "source": SOURCE,
        "type": NOTIFICATION_DELIVERED,
        "time": time,
        "subject": recipient,
        "datacontenttype": "application/json",
        "data": {
            "notification_id": str(row["id"]),
            "recipient_id": recipient,
            "user_id": recipient,
            "team_id": _id(row.get("team_id")),
            "kind": row["kind"],
            "notification_type": row["notification_type"],
            "title": row["title"],
            "message": row["message"],
            "link": row.get("link"),
            "is_read": bool(row.get("is_read", False)),
            "created_at": (created := ts(row["created_at"])),
            "delivered_at": (
                created if row["delivered_at"] is row["created_at"] else ts(row["delivered_at"])
            ),
            "was_held": was_held,
        },
    }
    if traceparent:
        payload["traceparent"] = traceparent
    return payload


_INSERT = text(
    f"INSERT INTO {event_tables.outbox.name} (id, type, subject, payload)"
    " SELECT * FROM unnest(CAST(CAST(:ids AS text[]) AS uuid[]), CAST(:types AS text[]),"
    " CAST(:subjects AS text[]), CAST(:payloads AS jsonb[]))"
)


def add_events(session: Session, payloads: Sequence[dict[str, Any]]) -> None:
    """The outbox rows of ``payloads`` in the caller's transaction: one insert, one wake-up of
    the relay (``pg_notify`` delivered at commit, as ``add_event`` does)."""
    if not payloads:
        return
    session.execute(
        _INSERT,
        {
            "ids": [p["id"] for p in payloads],
            "types": [p["type"] for p in payloads],
            "subjects": [p["subject"] for p in payloads],
            "payloads": [orjson.dumps(p).decode() for p in payloads],
        },
    )
    session.execute(select(func.pg_notify(f"outbox_{SOURCE}", "")))
