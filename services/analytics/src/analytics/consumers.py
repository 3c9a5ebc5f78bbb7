"""The analytics service's one durable consumer, ``Consumer("analytics")``.

- ``tasks.*``, ``focus.session.*``, ``chat.*``, ``meetings.*`` (see
  ``analytics.aggregates.effects``): counted into the daily aggregates, each exactly once: the
  backbone's inbox row, the raw log row and the upserts commit in one transaction;
- ``identity.user.registered`` / ``identity.user.updated``: each user's timezone;
- ``teams.member.*`` / ``teams.team.deleted``: the membership projection (``vc_common.membership``)
  that authorizes the team route; a deleted team's rows are dropped by :func:`forget_team`.

``python -m vc_common.events replay --consumer analytics --module analytics.consumers --reset``
rebuilds everything from the broker's retained history (the reset hook empties the aggregates and
the log first).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.membership import membership_consumer_handlers, on_team_deleted

from analytics.aggregates import repository as repo
from analytics.aggregates.effects import ALL_EVENTS
from analytics.aggregates.service import count_event, set_user_timezone
from analytics.models import membership_tables

USER_EVENTS = ("identity.user.registered", "identity.user.updated")

# large batches: a batch is applied with a few set-based statements (see count_event)
consumer = Consumer("analytics", batch_size=500)


@consumer.on(*ALL_EVENTS)
async def on_counted_event(session: AsyncSession, event: CloudEvent) -> None:
    await count_event(session, event)


@consumer.on(*USER_EVENTS)
async def on_user_event(session: AsyncSession, event: CloudEvent) -> None:
    await set_user_timezone(session, event)


@on_team_deleted(membership_tables)
async def forget_team(session: AsyncSession, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    await repo.delete_team_rows(session, team_id)


@consumer.on_reset
async def forget_aggregates(session: AsyncSession) -> None:
    await repo.delete_everything(session)


membership_consumer_handlers(consumer, membership_tables)
