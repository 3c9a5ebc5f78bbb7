"""What meetings consumes: teams' membership events (the projection ``ctx.authorize`` reads); a
deleted team's meetings go with it."""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from meetings.meetings import service
from meetings.models import membership

consumer = Consumer("meetings")
membership.register(consumer)


@membership.on_team_deleted
async def forget_team(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    await service.forget_team(ctx, team_id)
