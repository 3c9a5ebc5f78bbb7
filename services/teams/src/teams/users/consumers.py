"""What teams consumes: identity's user events, into ``known_users``."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.events.envelope import CloudEvent

from teams.users import repository
from teams.users.models import KnownUser

if TYPE_CHECKING:
    from vc_common.events.consumer import Consumer

ACTIVE_BY_TYPE: dict[str, bool | None] = {
    "identity.user.registered": True,
    "identity.user.updated": None,  # leaves is_active as it is
    "identity.user.deactivated": False,
    "identity.user.reactivated": True,
}


def register(consumer: Consumer) -> None:
    @consumer.on(*ACTIVE_BY_TYPE)
    async def on_identity_user(ctx: Context, event: CloudEvent) -> None:
        session = ctx.session
        data = event.data
        user_id = uuid.UUID(str(data.get("user_id") or event.subject))
        username = data.get("username")
        await repository.apply_event(
            session,
            user_id,
            username=str(username) if username else None,
            is_active=ACTIVE_BY_TYPE[event.type],
            event_time=event.time,
        )

    @consumer.on_reset
    async def forget_users(session: AsyncSession) -> None:
        await session.execute(delete(KnownUser))
