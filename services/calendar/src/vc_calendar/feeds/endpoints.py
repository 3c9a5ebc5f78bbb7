"""Routes of iCalendar output: the secret feed (no bearer token) and single events."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel
from vc_common.context import ContextDep, PublicContextDep
from vc_common.errors import PROBLEM_RESPONSES

from vc_calendar.feeds import service

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"], responses=PROBLEM_RESPONSES)

ICS = "text/calendar; charset=utf-8"
ICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "iCalendar (RFC 5545)"}
}


class FeedTokenRead(BaseModel):
    token: str
    url: str


@router.post("/feed-token", status_code=status.HTTP_201_CREATED)
async def create_feed_token(ctx: ContextDep, response: Response) -> FeedTokenRead:
    """A new secret feed URL for the caller; the previous one stops working."""
    made = await service.new_feed_token(ctx, ctx.settings.calendar_public_url)
    response.headers["Location"] = service.FEED_PATH
    response.headers["Cache-Control"] = "no-store"
    return FeedTokenRead(token=made.token, url=made.url)


@router.get("/feed.ics", response_class=Response, responses=ICS_RESPONSE)
async def get_feed(
    ctx: PublicContextDep,
    token: Annotated[str | None, Query(description="The secret feed token")] = None,
) -> Response:
    """The token owner's calendar as iCalendar; no bearer token: the feed token is the
    credential (404 when unknown or replaced)."""
    body = await service.feed(ctx, token, ctx.settings.calendar_feed_past_days)
    return Response(
        body,
        media_type=ICS,
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": 'inline; filename="calendar.ics"',
        },
    )


@router.get("/events/{event_id}.ics", response_class=Response, responses=ICS_RESPONSE)
async def get_event_ics(event_id: uuid.UUID, ctx: ContextDep) -> Response:
    """One event (a series with its RRULE and EXDATEs) as iCalendar."""
    body = await service.event_ics(ctx, event_id)
    return Response(
        body,
        media_type=ICS,
        headers={"Content-Disposition": f'attachment; filename="{event_id}.ics"'},
    )
