"""Writing events: :func:`add_event` puts a CloudEvent in the service's ``outbox`` table inside the
caller's transaction. It is published by the relay after commit, if and only if that commit
happened. Never publish to the broker inside a request."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vc_common.events.envelope import CloudEvent
from vc_common.events.tables import EventTables
from vc_common.telemetry import current_traceparent


async def add_event(
    session: AsyncSession,
    tables: EventTables,
    *,
    source: str,
    type: str,
    subject: str | uuid.UUID,
    data: dict[str, Any],
) -> CloudEvent:
    """Record one domain event in the outbox (same transaction as the change)."""
    event = CloudEvent(source=source, type=type, subject=str(subject), data=data,
                       traceparent=current_traceparent())
    await session.execute(
        insert(tables.outbox).values(id=event.id, type=event.type, subject=event.subject,
                                     payload=event.to_dict())
    )
    return event
