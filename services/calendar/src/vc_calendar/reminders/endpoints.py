"""Routes of reminders."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page

from vc_calendar.reminders import service
from vc_calendar.reminders.schemas import ReminderCreate, ReminderRead

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"], responses=PROBLEM_RESPONSES)


def to_read(view: service.ReminderView) -> ReminderRead:
    r = view.reminder
    return ReminderRead(
        id=r.id,
        event_id=r.event_id,
        reminder_type=r.reminder_type,
        minutes_before=r.minutes_before,
        sent=r.sent,
        sent_occurrences=view.sent_occurrences,
        next_occurrence_start=r.next_occurrence_start,
        next_fire_at=r.next_fire_at,
        created_by_id=r.created_by_id,
        created_at=r.created_at,
    )


@router.post("/events/{event_id}/reminders", status_code=status.HTTP_201_CREATED)
async def create_reminder(
    event_id: uuid.UUID, body: ReminderCreate, ctx: ContextDep, response: Response
) -> ReminderRead:
    """Fires once per occurrence at ``start - minutes_before`` (creator or team admin)."""
    view = await service.add_reminder(ctx, event_id, body)
    response.headers["Location"] = f"/api/v1/calendar/reminders/{view.reminder.id}"
    return to_read(view)


@router.get("/events/{event_id}/reminders")
async def list_reminders(event_id: uuid.UUID, ctx: ContextDep) -> Page[ReminderRead]:
    rows = await service.list_reminders(ctx, event_id)
    return Page[ReminderRead](items=[to_read(v) for v in rows], next_cursor=None)


@router.delete("/reminders/{reminder_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_reminder(reminder_id: uuid.UUID, ctx: ContextDep) -> Response:
    await service.delete_reminder(ctx, reminder_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
