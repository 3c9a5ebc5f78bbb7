"""What integrations publishes: each event through the outbox, in the transaction of its change.
Every type has a JSON Schema in contracts/events/<type>.v1.json. The subject is the integration
id, so every event of one integration is delivered in order; ``user_id`` is the integration's
owner (the one to tell), ``integration_type`` lets a consumer filter without calling back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from vc_common.context import Context
from vc_common.events.envelope import CloudEvent
from vc_common.events.outbox import add_event
from vc_common.telemetry import current_traceparent

from integrations.models import event_tables

SOURCE = "integrations"

CONNECTED = "integrations.integration.connected"
DISCONNECTED = "integrations.integration.disconnected"
NEEDS_RECONNECT = "integrations.integration.needs_reconnect"
SYNC_COMPLETED = "integrations.sync.completed"
SYNC_FAILED = "integrations.sync.failed"
CALENDAR_EVENT_IMPORTED = "integrations.calendar_event.imported"
CALENDAR_EVENT_REMOVED = "integrations.calendar_event.removed"


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def publish(ctx: Context, type_: str, subject: uuid.UUID | str, data: dict[str, Any]) -> None:
    await add_event(
        ctx.session, event_tables, source=SOURCE, type=type_, subject=subject, data=data
    )


async def publish_many(
    ctx: Context, items: list[tuple[str, uuid.UUID | str, dict[str, Any]]]
) -> None:
    """Several events in one statement (a sync imports thousands): the same outbox rows as
    :func:`add_event` writes, in order, and one ``pg_notify`` for them all."""
    if not items:
        return
    traceparent = current_traceparent()
    rows = []
    for type_, subject, data in items:
        event = CloudEvent(
            source=SOURCE, type=type_, subject=str(subject), data=data, traceparent=traceparent
        )
        rows.append(
            {
                "id": event.id,
                "type": event.type,
                "subject": event.subject,
                "payload": event.to_dict(),
            }
        )
    await ctx.session.execute(insert(event_tables.outbox), rows)
    await ctx.session.execute(select(func.pg_notify(f"outbox_{SOURCE}", "")))


def _integration(i: Any) -> dict[str, Any]:
    return {
        "integration_id": str(i.id),
        "user_id": str(i.user_id),
        "integration_type": i.integration_type,
    }


async def connected(ctx: Context, i: Any, *, reconnected: bool) -> None:
    await publish(
        ctx,
        CONNECTED,
        i.id,
        {
            **_integration(i),
            "connected_at": ts(ctx.now()),
            "reconnected": reconnected,
            "account": {k: v for k, v in (i.account or {}).items() if v is not None},
        },
    )


async def disconnected(ctx: Context, i: Any, *, revoked_at_provider: bool) -> None:
    await publish(
        ctx,
        DISCONNECTED,
        i.id,
        {
            **_integration(i),
            "disconnected_at": ts(ctx.now()),
            "revoked_at_provider": revoked_at_provider,
        },
    )


async def needs_reconnect(ctx: Context, i: Any, reason: str) -> None:
    await publish(
        ctx,
        NEEDS_RECONNECT,
        i.id,
        {**_integration(i), "reason": reason, "detected_at": ts(ctx.now())},
    )


def _sync(i: Any, log: Any) -> dict[str, Any]:
    return {
        **_integration(i),
        "sync_log_id": str(log.id),
        "sync_type": log.sync_type,
        "trigger": log.trigger,
        "records_synced": log.records_synced,
        "started_at": ts(log.started_at),
        "completed_at": ts(log.completed_at),
    }


async def sync_completed(ctx: Context, i: Any, log: Any) -> None:
    await publish(ctx, SYNC_COMPLETED, i.id, _sync(i, log))


async def sync_failed(ctx: Context, i: Any, log: Any) -> None:
    await publish(ctx, SYNC_FAILED, i.id, {**_sync(i, log), "error_message": log.error_message})


def calendar_event_imported(i: Any, ev: Any) -> tuple[str, uuid.UUID, dict[str, Any]]:
    """A Google event of the user, created or changed on Google (the calendar service shows it
    in the user's range queries); for :func:`publish_many`."""
    return (
        CALENDAR_EVENT_IMPORTED,
        i.id,
        {
            **_integration(i),
            "external_id": ev.google_id,
            "title": ev.title,
            "description": ev.description,
            "location": ev.location,
            "start_time": ts(ev.start_time),
            "end_time": ts(ev.end_time),
            "is_all_day": ev.is_all_day,
            "status": ev.status,
            "updated_at": ts(ev.google_updated),
            "calendar_event_id": str(ev.calendar_event_id) if ev.calendar_event_id else None,
        },
    )


def calendar_event_removed(
    ctx: Context, i: Any, google_id: str
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    return (
        CALENDAR_EVENT_REMOVED,
        i.id,
        {**_integration(i), "external_id": google_id, "removed_at": ts(ctx.now())},
    )
