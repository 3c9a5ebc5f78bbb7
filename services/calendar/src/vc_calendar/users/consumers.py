"""What calendar learns from identity: each user's profile timezone (the zone a user's date
ranges are read in, and the default zone of the events they create)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.events.envelope import CloudEvent
from vc_common.timezones import user_timezone_of

from vc_calendar.users import repository

USER_EVENTS = ("identity.user.registered", "identity.user.updated")


async def on_user_event(ctx: Context, event: CloudEvent) -> None:
    stated = user_timezone_of(event)
    if stated is None:
        return
    user_id, timezone = stated
    await repository.upsert(ctx.session, user_id, timezone, event.time)


async def reset_timezones(session: AsyncSession) -> None:
    await repository.forget_all(session)
