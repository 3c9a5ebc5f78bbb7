"""What files consumes: teams' membership events (the projection ``ctx.authorize`` reads), and
``teams.team.deleted``: the team's files are deleted with it (marked for the sweeper, one
``files.file.deleted`` each)."""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from files.files import service
from files.models import membership

consumer = Consumer("files")
membership.register(consumer)


@membership.on_team_deleted
async def delete_team_files(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
    actor = event.data.get("user_id") or event.data.get("actor_id")
    await service.team_deleted(ctx, team_id, uuid.UUID(str(actor)))
