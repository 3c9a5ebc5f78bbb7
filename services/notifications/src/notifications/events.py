"""What notifications publishes, through the outbox in the transaction of the change.

- ``notifications.notification.delivered`` (subject: the recipient, so one user's deliveries stay
  in order; schema ``contracts/events/notifications.notification.delivered.v1.json``): a
  notification reached the user's inbox, now (made while nothing held it) or when its hold ended
  (``was_held``), or the digest of a hold (``kind: "digest"``). The live socket pushes it to the
  recipient's clients. ``user_id`` is the recipient (the system acts; nobody else may see it).

Deliveries are written many at a time (a consumer batch, a released hold): :func:`delivered` makes
each one's outbox payload (the envelope ``vc_common.events.outbox.add_event`` writes) and the
delivery's one statement (:func:`notifications.delivery.repository.write`) inserts them all, with
the relay's wake-up.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import uuid_utils

SOURCE = "notifications"
NOTIFICATION_DELIVERED = "notifications.notification.delivered"
PUBLISHED = (NOTIFICATION_DELIVERED,)
#: the relay's ``pg_notify`` channel (``vc_common.events.outbox``'s ``outbox_<source>``)
CHANNEL = f"outbox_{SOURCE}"


@functools.lru_cache(maxsize=256)
def ts(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``, as every producer writes times. (Cached: the
    rows of one consumer batch share their ``created_at``, and formatting one costs ~7 µs.)"""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def delivered(
    row: dict[str, Any], *, was_held: bool, traceparent: str | None, time: str
) -> dict[str, Any]:
    """The CloudEvent (as its outbox payload) of one delivered notification row (the columns of
    ``notifications``), ``time`` as :func:`ts` wrote it. Built as a plain dict: a consumer batch
    writes hundreds at once. Its ids are left as UUIDs (or their text): orjson writes both as
    the same canonical text, in one call for the whole batch (``str`` of a UUID costs ~2 µs)."""
    recipient = row["recipient_id"]
    payload: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid_utils.uuid7()),
        "source": SOURCE,
        "type": NOTIFICATION_DELIVERED,
        "time": time,
        "subject": recipient,
        "datacontenttype": "application/json",
        "data": {
            "notification_id": row["id"],
            "recipient_id": recipient,
            "user_id": recipient,
            "team_id": row.get("team_id"),
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
