"""The analytics service's one durable consumer, ``Consumer("analytics")``.

- ``tasks.*``, ``focus.session.*``, ``chat.*``, ``meetings.*`` (see
  ``analytics.aggregates.effects``): counted into the daily aggregates, each exactly once: the
  backbone's inbox row, the raw log row and the upserts commit in one transaction;
- ``identity.user.registered`` / ``identity.user.updated``: each user's timezone;
- ``files.file.uploaded`` / ``files.file.deleted``: the team's stored bytes (``storage_bytes``);
- ``teams.member.*`` / ``teams.team.deleted``: the membership projection (``teams_client``,
  registered by the app factory) that authorizes the team route; a deleted team's rows are
  dropped by :func:`forget_team`.

``python -m vc_common.events replay --consumer analytics --module analytics.consumers --reset``
rebuilds everything from the broker's retained history (the reset hook empties the aggregates and
the log first).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from analytics.aggregates import repository as repo
from analytics.aggregates.effects import ALL_EVENTS
from analytics.aggregates.service import count_events, count_storage, set_user_timezone
from analytics.models import membership

USER_EVENTS = ("identity.user.registered", "identity.user.updated")

# large batches: a run of counted events is applied with a few set-based statements
consumer = Consumer("analytics", batch_size=500)

membership.register(consumer)


@consumer.on_batch(*ALL_EVENTS)
async def on_counted_events(ctx: Context, events: list[CloudEvent]) -> None:
    await count_events(ctx.session, events)


@consumer.on(*USER_EVENTS)
async def on_user_event(ctx: Context, event: CloudEvent) -> None:
    session = ctx.session
    await set_user_timezone(session, event)


@consumer.on("files.file.uploaded", "files.file.deleted")
async def on_file_event(ctx: Context, event: CloudEvent) -> None:
    if await membership.is_deleted(ctx.session, uuid.UUID(str(event.data["team_id"]))):
        return  # a deleted team's files go after it: nothing left to count for it
    await count_storage(ctx.session, event)


@membership.on_team_deleted
async def forget_team(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
    session = ctx.session
    del event
    await repo.delete_team_rows(session, team_id)


@consumer.on_reset
async def forget_aggregates(session: AsyncSession) -> None:
    await repo.delete_everything(session)
