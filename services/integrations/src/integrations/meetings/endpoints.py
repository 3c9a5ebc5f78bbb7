"""The internal route meetings calls for a Zoom or Teams link (not routed by the gateway)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES

from integrations.meetings import links

internal_router = APIRouter(
    prefix="/internal/v1/integrations", include_in_schema=False, responses=PROBLEM_RESPONSES
)


class MeetingLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["zoom", "microsoft_teams"]
    title: str = Field(min_length=1, max_length=200)
    start_time: datetime
    end_time: datetime

    @model_validator(mode="after")
    def _order(self) -> MeetingLinkCreate:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class MeetingLinkRead(BaseModel):
    provider: str
    join_url: str
    external_id: str


@internal_router.post("/meeting-links", response_model=MeetingLinkRead)
async def create_meeting_link(body: MeetingLinkCreate, ctx: ContextDep) -> Any:
    """Called by meetings with the meeting creator's bearer token."""
    return await links.create_link(ctx, body.provider, body.title, body.start_time, body.end_time)
