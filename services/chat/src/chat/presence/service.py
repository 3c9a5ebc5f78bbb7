"""Who is online in a team: members with at least one open room socket (on any replica)."""

from __future__ import annotations

import uuid

from vc_common.context import Context

from chat.realtime.hub import Hub


async def online(ctx: Context, hub: Hub, team_id: uuid.UUID) -> list[uuid.UUID]:
    await ctx.authorize(team_id, "presence.read")
    return await hub.presence.online(team_id)
