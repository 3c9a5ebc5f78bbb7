"""Google Calendar, both ways.

Google → us (a sync): ``GET /calendar/v3/calendars/{calendarId}/events``, 250 a page. The first
sync (or ``sync_type: full``) lists everything and keeps the last page's ``nextSyncToken``; the
next ones send ``syncToken`` and receive only what changed (cancelled events included, as
``status: cancelled``). Google answers ``410 Gone`` when a sync token is no longer valid: the
sync then starts over as a full one, and events no longer listed are removed. Every imported
event is stored here (``google_events``) and published (``integrations.calendar_event.imported``
/ ``.removed``) for the calendar service to show in the user's range queries.

Us → Google (``push``): the user's own calendar events (``calendar.event.created/updated/
cancelled``) are inserted, patched or deleted on their Google calendar, tagged with
``extendedProperties.private.vc_event_id`` so that their echo in the next sync is recognised.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from vc_common.context import Context

from integrations import events
from integrations.connections.models import Integration
from integrations.crypto import Secret
from integrations.google import repository
from integrations.google.models import CalendarPush
from integrations.providers.api import ApiError, call
from integrations.runtime import Runtime
from integrations.syncs.models import SyncLog

PAGE_SIZE = 250


def _calendar_url(rt: Runtime, i: Integration) -> str:
    calendar = (i.config or {}).get("calendar_id") or "primary"
    return f"{rt.settings.google_api_url}/calendar/v3/calendars/{quote(calendar, safe='')}/events"


def _instant(value: dict[str, Any] | None) -> tuple[datetime | None, bool]:
    if not value:
        return None, False
    if value.get("dateTime"):
        return datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")).astimezone(
            UTC
        ), False
    if value.get("date"):
        return datetime.combine(date.fromisoformat(value["date"]), time(0), tzinfo=UTC), True
    return None, False


def _row(item: dict[str, Any]) -> dict[str, Any]:
    start, all_day = _instant(item.get("start"))
    end, _ = _instant(item.get("end"))
    updated = item.get("updated")
    private = (item.get("extendedProperties") or {}).get("private") or {}
    vc_id = private.get("vc_event_id")
    try:
        calendar_event_id = uuid.UUID(vc_id) if vc_id else None
    except ValueError:
        calendar_event_id = None
    return {
        "google_id": str(item["id"]),
        "status": str(item.get("status") or "confirmed"),
        "title": str(item.get("summary") or ""),
        "description": item.get("description"),
        "location": item.get("location"),
        "start_time": start,
        "end_time": end,
        "is_all_day": all_day,
        "google_updated": (
            datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None
        ),
        "calendar_event_id": calendar_event_id,
    }


async def run(ctx: Context, rt: Runtime, i: Integration, token: Secret, log: SyncLog) -> int:
    full = log.sync_type == "full" or not i.sync_cursor
    try:
        return await _sync(ctx, rt, i, token, full=full)
    except ApiError as exc:
        if exc.status != 410 or full:
            raise
    # 410 Gone: the sync token expired; Google's documented answer is a full resync
    i.sync_cursor = None
    return await _sync(ctx, rt, i, token, full=True)


async def _sync(ctx: Context, rt: Runtime, i: Integration, token: Secret, *, full: bool) -> int:
    url = _calendar_url(rt, i)
    params: dict[str, Any] = {"maxResults": PAGE_SIZE}
    if full:
        params["showDeleted"] = "false"
    else:
        params["syncToken"] = i.sync_cursor
    seen: set[str] = set()
    changed = 0
    next_sync: str | None = None
    while True:
        resp = await call(rt, "google", "GET", url, token, params=params)
        body = resp.json()
        items = body.get("items") or []
        live = [it for it in items if it.get("status") != "cancelled" and it.get("id")]
        gone = [str(it["id"]) for it in items if it.get("status") == "cancelled" and it.get("id")]
        stored = await repository.upsert_events(ctx.session, i.id, [_row(it) for it in live])
        seen.update(ev.google_id for ev in stored)
        removed = await repository.delete_events(ctx.session, i.id, gone)
        await events.publish_many(
            ctx,
            [events.calendar_event_imported(i, ev) for ev in stored]
            + [events.calendar_event_removed(ctx, i, gid) for gid in removed],
        )
        changed += len(live) + len(gone)
        page = body.get("nextPageToken")
        if page:
            params = {k: v for k, v in params.items() if k != "pageToken"}
            params["pageToken"] = page
            continue
        next_sync = body.get("nextSyncToken")
        break
    if full:  # whatever Google no longer lists is gone
        stale = sorted((await repository.google_ids(ctx.session, i.id)) - seen)
        removed = await repository.delete_events(ctx.session, i.id, stale)
        await events.publish_many(ctx, [events.calendar_event_removed(ctx, i, g) for g in removed])
        changed += len(stale)
    i.sync_cursor = next_sync
    await ctx.session.flush()
    return changed


# ---------------------------------------------------------------------------- us → Google


def _google_body(data: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "summary": data.get("title") or "",
        "extendedProperties": {"private": {"vc_event_id": str(data["event_id"])}},
    }
    if data.get("description"):
        body["description"] = data["description"]
    if data.get("location"):
        body["location"] = data["location"]
    if data.get("is_all_day"):
        body["start"] = {"date": str(data["start_time"])[:10]}
        body["end"] = {"date": str(data["end_time"])[:10]}
    else:
        body["start"] = {"dateTime": data["start_time"]}
        body["end"] = {"dateTime": data["end_time"]}
        if data.get("timezone"):
            body["start"]["timeZone"] = data["timezone"]
            body["end"]["timeZone"] = data["timezone"]
    return body


async def push(
    ctx: Context, rt: Runtime, i: Integration, token: Secret, data: dict[str, Any], verb: str
) -> None:
    """Mirror one of the user's calendar events on Google (``verb``: upsert or cancel)."""
    event_id = uuid.UUID(str(data["event_id"]))
    url = _calendar_url(rt, i)
    existing = await repository.get_push(ctx.session, i.id, event_id)
    if verb == "cancel":
        if existing is not None:
            await call(
                rt,
                "google",
                "DELETE",
                f"{url}/{quote(existing.google_id, safe='')}",
                token,
                ok_statuses=(404, 410),
            )
            await repository.delete_push(ctx.session, existing)
        return
    if existing is not None:
        await call(
            rt,
            "google",
            "PATCH",
            f"{url}/{quote(existing.google_id, safe='')}",
            token,
            json=_google_body(data),
        )
        return
    resp = await call(rt, "google", "POST", url, token, json=_google_body(data))
    await repository.add_push(
        ctx.session,
        CalendarPush(integration_id=i.id, calendar_event_id=event_id, google_id=resp.json()["id"]),
    )
