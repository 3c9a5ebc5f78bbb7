"""What the focus service consumes: its one durable consumer, ``Consumer("focus")``.

- ``identity.user.registered`` / ``identity.user.updated``: each user's timezone
  (``profile.timezone``). The events always carry the user's public fields, so the projection is
  a plain overwrite, guarded by the event's ``time`` so that a late, older event never wins. A
  null timezone means UTC; a name zoneinfo does not know (identity validates them, so only a
  newer tz database could cause it) is ignored. A change applies to sessions ending from then
  on; days already counted keep their totals (each session remembers the zone it was counted in).
- ``teams.member.*`` / ``teams.team.deleted``: the team membership projection
  (``teams_client.MembershipProjection``). A deleted team's sessions stay with their users,
  detached from the team (and its tasks, whose ids mean nothing any more); the team's goals and
  per-team stat rows go. The users' own day totals (``team_id`` null) do not change.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.timezones import user_timezone_of

from focus.models import (
    DailyFocusGoal,
    FocusSession,
    FocusSessionDay,
    FocusStat,
    UserTimezone,
    membership,
)
from focus.users.repository import upsert_timezone

USER_EVENTS = ("identity.user.registered", "identity.user.updated")

consumer = Consumer("focus")
membership.register(consumer)


@consumer.on(*USER_EVENTS)
async def on_user_event(ctx: Context, event: CloudEvent) -> None:
    stated = user_timezone_of(event)
    if stated is None:
        return
    user_id, timezone = stated
    await upsert_timezone(ctx.session, user_id, timezone, event.time)


@consumer.on_reset
async def reset_timezones(session: AsyncSession) -> None:
    """``replay --reset``: forget the projection; the replay rebuilds it."""
    await session.execute(delete(UserTimezone))


@membership.on_team_deleted
async def forget_team(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    session = ctx.session
    await session.execute(
        update(FocusSession)
        .where(FocusSession.team_id == team_id)
        .values(team_id=None, task_id=None)
    )
    await session.execute(
        update(FocusSessionDay).where(FocusSessionDay.team_id == team_id).values(team_id=None)
    )
    await session.execute(delete(DailyFocusGoal).where(DailyFocusGoal.team_id == team_id))
    await session.execute(delete(FocusStat).where(FocusStat.team_id == team_id))
