"""Us → Google: the user's calendar events mirrored on their Google calendar.

Consumes ``calendar.event.created``, ``.updated``, ``.cancelled`` (the calendar service's events;
their schemas are the calendar's to write: read here are ``event_id``, the creator
``created_by_id`` (else ``user_id``), ``title``, ``description``, ``location``, ``start_time``,
``end_time``, ``is_all_day``, ``timezone``). An event that is itself the copy of a Google event
(``external_source: "google_calendar"``, set by a calendar that imported ours) is not pushed back.
"""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.errors import Conflict
from vc_common.events.envelope import CloudEvent

from integrations.connections import repository as connections_repo
from integrations.connections import service as connections
from integrations.consumers import consumer
from integrations.google.sync import push
from integrations.runtime import runtime


@consumer.on("calendar.event.created", "calendar.event.updated", "calendar.event.cancelled")
async def on_calendar_event(ctx: Context, event: CloudEvent) -> None:
    data = event.data
    if data.get("external_source") == "google_calendar" or not data.get("event_id"):
        return
    owner = data.get("created_by_id") or data.get("user_id")
    try:
        owner_id = uuid.UUID(str(owner))
    except ValueError:
        return
    i = await connections_repo.get_by_type(ctx.session, owner_id, "google_calendar")
    if i is None or not i.is_active:
        return
    verb = "cancel" if event.type.endswith(".cancelled") else "upsert"
    if verb == "upsert" and not (data.get("start_time") and data.get("end_time")):
        return
    try:
        i, token = await connections.fresh_access_token(ctx, i.id)
    except (connections.RefreshFailed, Conflict):
        return
    await push(ctx, runtime(ctx), i, token, data, verb)
