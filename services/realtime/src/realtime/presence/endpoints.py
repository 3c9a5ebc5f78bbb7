from __future__ import annotations

import uuid

from fastapi import APIRouter
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES

from realtime.presence import service
from realtime.presence.schemas import MemberNowRead, PresenceEntry, TeamNowRead, TeamPresenceRead

router = APIRouter(tags=["presence"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/teams/{team_id}/now", response_model=TeamNowRead)
async def get_team_now(team_id: uuid.UUID, ctx: ContextDep) -> TeamNowRead:
    """Every member with one status (in_meeting > focusing > busy > online > away > offline),
    since when, and what it is about."""
    members = await service.team_now(ctx, team_id)
    return TeamNowRead(
        team_id=team_id, at=ctx.now(), members=[MemberNowRead.model_validate(m) for m in members]
    )


@router.get("/api/v1/teams/{team_id}/presence", response_model=TeamPresenceRead)
async def get_team_presence(team_id: uuid.UUID, ctx: ContextDep) -> TeamPresenceRead:
    """Who is online in the team now: members with a live socket on any replica."""
    users = await service.team_online(ctx, team_id)
    entries = [PresenceEntry(user_id=u) for u in users]
    return TeamPresenceRead(team_id=team_id, items=entries, online=entries)
