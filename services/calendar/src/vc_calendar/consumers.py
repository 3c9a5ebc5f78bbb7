"""calendar's one durable consumer, ``Consumer("calendar")``.

- ``teams.member.*`` / ``teams.team.deleted``: the membership projection ``ctx.authorize`` and
  the range query read; a deleted team's events, deadlines and meetings go with it.
- ``identity.user.registered`` / ``.updated``: users' timezones (``vc_calendar.users``).
- ``tasks.task.created/updated/assigned/moved/completed/reopened/deleted``: deadlines;
  ``meetings.meeting.scheduled/updated/cancelled``: meetings;
  ``integrations.calendar_event.imported/removed``, ``integrations.integration.disconnected``:
  the user's Google Calendar events (``vc_calendar.sources``).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from vc_calendar.calendar_events import service as event_service
from vc_calendar.models import membership
from vc_calendar.sources import consumers as sources
from vc_calendar.users import consumers as users

consumer = Consumer("calendar")
membership.register(consumer)
consumer.on(*users.USER_EVENTS)(users.on_user_event)
consumer.on_batch(*sources.TASK_SNAPSHOT_EVENTS)(sources.on_task_events)
consumer.on(*sources.MEETING_EVENTS)(sources.on_meeting_event)
consumer.on(*sources.IMPORT_EVENTS)(sources.on_import_event)
consumer.on_reset(users.reset_timezones)


@membership.on_team_deleted
async def forget_team(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    await event_service.forget_team(ctx, team_id)
    await sources.forget_team(ctx.session, team_id)


@consumer.on_reset
async def forget_projections(session: AsyncSession) -> None:
    from vc_calendar.sources import repository

    await repository.forget_all(session)
