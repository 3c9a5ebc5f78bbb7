"""What the chat service consumes.

- ``teams.member.*`` / ``teams.team.deleted``: the team-membership projection
  (``teams_client.MembershipProjection``), so authorization never calls teams on the hot path.
- ``teams.member.removed``: the member's open sockets in the team's rooms are closed (4403) on
  every replica, through the fan-out's control subject, after the projection change committed.
- ``teams.team.deleted``: the team's rooms and their messages are deleted (``chat.room.deleted``
  each, reason ``team_deleted``) and their sockets closed (4404).
"""

from __future__ import annotations

import logging
import uuid

from teams_client.events import member_of
from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from chat.aftercommit import after_commit
from chat.models import membership
from chat.rooms.service import drop_team_rooms

log = logging.getLogger("chat.consumers")

consumer = Consumer("chat")
membership.register(consumer)


@consumer.on("teams.member.removed")
async def close_removed_member_sockets(ctx: Context, event: CloudEvent) -> None:
    team_id = uuid.UUID(str(event.data["team_id"]))
    member_id = member_of(event)  # the removed member (user_id is the actor in new events)
    if await membership.cached(ctx.session, team_id, member_id) is not None:
        return  # a stale removal (the user was added back since): keep their sockets
    hub = ctx.resource("hub", required=False)  # this replica's (chat.realtime.runtime)
    if hub is None:
        log.warning("no hub: sockets of removed member %s not closed", member_id)
        return

    async def announce() -> None:
        await hub.announce_member_removed(team_id, member_id)

    after_commit(ctx.session, announce)


@membership.on_team_deleted
async def drop_rooms_of_deleted_team(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    await drop_team_rooms(ctx, ctx.resource("hub", required=False), team_id)
