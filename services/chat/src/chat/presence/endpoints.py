from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES

from chat.deps import HubDep
from chat.presence import service

router = APIRouter(tags=["presence"], responses=PROBLEM_RESPONSES)


class PresenceEntry(BaseModel):
    user_id: uuid.UUID
    status: str = "online"


class TeamPresence(BaseModel):
    """``items`` like every other list; ``online`` kept for one version (the same list)."""

    team_id: uuid.UUID
    items: list[PresenceEntry]
    online: list[PresenceEntry] = Field(
        deprecated=True, description="The same list as `items`; removed in the next version."
    )


@router.get("/api/v1/teams/{team_id}/presence", response_model=TeamPresence)
async def get_team_presence(team_id: uuid.UUID, ctx: ContextDep, hub: HubDep) -> TeamPresence:
    """Who is online in the team now: members with at least one open room socket (any replica)."""
    users = await service.online(ctx, hub, team_id)
    entries = [PresenceEntry(user_id=u) for u in users]
    return TeamPresence(team_id=team_id, items=entries, online=entries)
