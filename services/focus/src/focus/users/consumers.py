"""What focus learns from identity: each user's timezone (``profile.timezone``).

``identity.user.registered`` and ``identity.user.updated`` always carry the user's public
fields, ``timezone`` among them, so the projection is a plain overwrite, guarded by the event's
``time`` so that a late, older event never wins. A null timezone means UTC; a name zoneinfo does
not know (identity validates them, so only a newer tz database could cause it) is ignored.
Changing the timezone changes how sessions that end from now on are split; days already counted
keep their totals (each session remembers the zone it was counted in).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.envelope import CloudEvent
from vc_common.timezones import user_timezone_of

from focus.models import UserTimezone
from focus.users.repository import upsert_timezone

log = logging.getLogger("focus.users")

USER_EVENTS = ("identity.user.registered", "identity.user.updated")


async def on_user_event(session: AsyncSession, event: CloudEvent) -> None:
    stated = user_timezone_of(event)
    if stated is None:
        return
    user_id, timezone = stated
    await upsert_timezone(session, user_id, timezone, event.time)


async def reset_timezones(session: AsyncSession) -> None:
    """``replay --reset``: forget the projection; the replay rebuilds it."""
    await session.execute(delete(UserTimezone))
