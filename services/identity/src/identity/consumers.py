"""What identity consumes: ``files.avatar.updated`` (the files service made a new thumbnail of a
user's avatar): the profile's ``avatar`` becomes its URL, announced with
``identity.user.updated`` like any profile change. Idempotent (the inbox, and the same URL twice
changes nothing)."""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from identity import events
from identity.users import repository as users

consumer = Consumer("identity")


@consumer.on("files.avatar.updated")
async def set_avatar(ctx: Context, event: CloudEvent) -> None:
    user = await users.get(ctx.session, uuid.UUID(str(event.data["user_id"])), for_update=True)
    url = str(event.data["avatar_url"])
    if user is None or user.profile.avatar == url:
        return
    user.profile.avatar = url
    user.profile.updated_at = ctx.now()
    await ctx.session.flush()
    await events.user_updated(ctx.session, user, ["avatar"])
