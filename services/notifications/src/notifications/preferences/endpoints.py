"""Routes of the preferences."""

from __future__ import annotations

from fastapi import APIRouter
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES

from notifications.preferences import service
from notifications.preferences.schemas import PreferencesRead, PreferencesUpdate

router = APIRouter(
    prefix="/api/v1/notifications/preferences", tags=["notifications"], responses=PROBLEM_RESPONSES
)


@router.get("", response_model=PreferencesRead)
async def get_preferences(ctx: ContextDep) -> PreferencesRead:
    return await service.get_preferences(ctx)


@router.put("", response_model=PreferencesRead)
async def put_preferences(body: PreferencesUpdate, ctx: ContextDep) -> PreferencesRead:
    return await service.put_preferences(ctx, body)
