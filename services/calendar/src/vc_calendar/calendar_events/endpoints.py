"""Routes of events, attendees, occurrences and the range query: parse, call, shape."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from vc_calendar.calendar_events import service
from vc_calendar.calendar_events.schemas import (
    AttendeesPut,
    AttendeesRead,
    CalendarItem,
    EventCreate,
    EventRead,
    EventUpdate,
)

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"], responses=PROBLEM_RESPONSES)


def to_read(view: service.EventView) -> EventRead:
    ev = view.event
    first, last = service.local_dates(ev)
    return EventRead(
        id=ev.id,
        title=ev.title,
        description=ev.description,
        start_time=ev.start_time,
        end_time=ev.end_time,
        start_date=first,
        end_date=last,
        event_type=ev.event_type,
        created_by_id=ev.created_by_id,
        team_id=ev.team_id,
        is_all_day=ev.is_all_day,
        location=ev.location,
        timezone=ev.timezone,
        recurrence=ev.recurrence,
        exdates=view.exdates,
        attendee_ids=view.attendee_ids,
        sequence=ev.sequence,
        created_at=ev.created_at,
        updated_at=ev.updated_at,
    )


def to_item(i: service.Item) -> CalendarItem:
    return CalendarItem(
        id=i.id,
        kind=i.kind,
        occurrence_start=i.start,
        title=i.title,
        description=i.description,
        start_time=i.start,
        end_time=i.end,
        start_date=i.start_date,
        end_date=i.end_date,
        event_type=i.event_type,
        created_by_id=i.created_by_id,
        team_id=i.team_id,
        is_all_day=i.is_all_day,
        location=i.location,
        timezone=i.timezone,
        recurrence=i.recurrence,
        is_recurring=i.recurrence is not None,
        attendee_ids=i.attendee_ids,
        task_id=i.task_id,
        meeting_id=i.meeting_id,
        source=i.source,
        external_id=i.external_id,
    )


@router.post("/events", status_code=status.HTTP_201_CREATED)
async def create_event(body: EventCreate, ctx: ContextDep, response: Response) -> EventRead:
    view = await service.create_event(ctx, body)
    response.headers["Location"] = f"/api/v1/calendar/events/{view.event.id}"
    return to_read(view)


@router.get("/events", response_model=Page[CalendarItem])
async def list_events(
    ctx: ContextDep,
    page: PageDep,
    date_from: Annotated[
        str,
        Query(
            alias="from",
            description="A local date `YYYY-MM-DD` (the caller's local midnight) or RFC 3339",
        ),
    ],
    date_to: Annotated[
        str,
        Query(
            alias="to",
            description="Exclusive: a local date (its local midnight) or RFC 3339; at most 366 "
            "days after `from`",
        ),
    ],
    team_id: uuid.UUID | None = None,
) -> Response:
    """Everything the caller may see that overlaps the range, series expanded into one item
    per occurrence, task deadlines and meetings included, ordered by start."""
    items, cursor = await service.range_query(
        ctx, date_from, date_to, team_id, page, ctx.settings.calendar_max_range_days
    )
    body = Page[CalendarItem](items=[to_item(i) for i in items], next_cursor=cursor)
    # serialized once, here (a month's page is hundreds of fields: no second validation pass)
    return Response(body.model_dump_json(), media_type="application/json")


@router.get("/events/{event_id}")
async def get_event(event_id: uuid.UUID, ctx: ContextDep) -> EventRead:
    return to_read(await service.get_event(ctx, event_id))


@router.patch("/events/{event_id}")
async def update_event(event_id: uuid.UUID, body: EventUpdate, ctx: ContextDep) -> EventRead:
    """The creator or a team admin; a change of time or rule re-plans the reminders."""
    return to_read(await service.update_event(ctx, event_id, body))


@router.delete("/events/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_event(event_id: uuid.UUID, ctx: ContextDep) -> Response:
    """Cancels the event (attendees are told by ``calendar.event.cancelled``)."""
    await service.cancel_event(ctx, event_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/events/{event_id}/occurrences/{occurrence_start}", status_code=status.HTTP_204_NO_CONTENT
)
async def drop_occurrence(
    event_id: uuid.UUID, occurrence_start: datetime, ctx: ContextDep
) -> Response:
    """Drops one occurrence of a series (an EXDATE); ``occurrence_start`` in RFC 3339."""
    await service.drop_occurrence(ctx, event_id, occurrence_start)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/events/{event_id}/attendees")
async def get_attendees(event_id: uuid.UUID, ctx: ContextDep) -> AttendeesRead:
    return AttendeesRead(event_id=event_id, user_ids=await service.get_attendees(ctx, event_id))


@router.put("/events/{event_id}/attendees")
async def put_attendees(event_id: uuid.UUID, body: AttendeesPut, ctx: ContextDep) -> AttendeesRead:
    user_ids = await service.put_attendees(ctx, event_id, body.user_ids)
    return AttendeesRead(event_id=event_id, user_ids=user_ids)
