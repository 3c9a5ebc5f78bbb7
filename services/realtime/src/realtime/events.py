"""What realtime publishes: each event through the outbox, in the transaction of its change.
Every type has a JSON Schema in contracts/events/<type>.v1.json.

- ``realtime.presence.changed``: a user's status changed, once per team of the user, with what
  that team may see (``data``: ``team_id, user_id, status, previous_status, since`` and, by
  status, ``until``, ``focus_type``, ``task_id``, ``meeting_id``). Subject: the user. The live
  socket turns it into ``{"type":"presence",...}`` for the team's members.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from vc_common.context import Context
from vc_common.events.outbox import add_event

from realtime.models import event_tables

SOURCE = "realtime"
PRESENCE_CHANGED = "realtime.presence.changed"
PUBLISHED = (PRESENCE_CHANGED,)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def publish(ctx: Context, type_: str, subject: uuid.UUID | str, data: dict[str, Any]) -> None:
    await add_event(
        ctx.session, event_tables, source=SOURCE, type=type_, subject=subject, data=data
    )


async def presence_changed(
    ctx: Context,
    *,
    team_id: uuid.UUID,
    user_id: uuid.UUID,
    status: str,
    previous_status: str,
    since: datetime,
    view: dict[str, Any],
) -> None:
    await publish(
        ctx,
        PRESENCE_CHANGED,
        user_id,
        {
            "team_id": str(team_id),
            "user_id": str(user_id),
            "status": status,
            "previous_status": previous_status,
            "since": _iso(since),
            **view,
        },
    )
