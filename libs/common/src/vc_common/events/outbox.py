"""Writing events: :func:`add_event` puts a CloudEvent in the service's ``outbox`` table inside the
caller's transaction. It is published by the relay (:mod:`vc_common.events.relay`) after commit,
if and only if that commit happened. Never publish to the broker inside a request.

``add_event`` also issues ``pg_notify('outbox_<source>', '')`` in the same transaction: PostgreSQL
delivers it at commit (never on rollback, and several in one transaction collapse into one), so
the relay wakes at once instead of at its next poll.

Per-subject order is the order of ``seq``, assigned at insert: write the change to the aggregate
(which locks its row) *before* calling ``add_event``, so two transactions on the same aggregate
cannot interleave their events.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select
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
    event = CloudEvent(
        source=source, type=type, subject=str(subject), data=data, traceparent=current_traceparent()
    )
    await session.execute(
        insert(tables.outbox).values(
            id=event.id, type=event.type, subject=event.subject, payload=event.to_dict()
        )
    )
    await session.execute(select(func.pg_notify(f"outbox_{source}", "")))
    return event
