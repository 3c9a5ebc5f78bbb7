from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.membership import TeamMember

from chat.realtime.deps import HubDep

router = APIRouter(tags=["presence"], responses=PROBLEM_RESPONSES)


class PresenceEntry(BaseModel):
    user_id: uuid.UUID
    status: str = "online"


class TeamPresence(BaseModel):
    team_id: uuid.UUID
    online: list[PresenceEntry]


@router.get("/api/v1/teams/{team_id}/presence", response_model=TeamPresence)
async def get_team_presence(team_id: uuid.UUID, member: TeamMember, hub: HubDep) -> TeamPresence:
    """Who is online in the team now: members with at least one open room socket (any replica)."""
    del member
    users = await hub.presence.online(team_id)
    return TeamPresence(team_id=team_id, online=[PresenceEntry(user_id=u) for u in users])
