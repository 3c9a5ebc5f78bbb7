"""Request and response bodies of the calendar routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints, WithJsonSchema

EventType = Literal["meeting", "deadline", "reminder", "other"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Location = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


def _time_or_date(value: object) -> datetime | date:
    """``YYYY-MM-DD`` is a date; anything else must be an RFC 3339 time (the offset is checked
    by the service, which says why in a 422)."""
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 time or a date YYYY-MM-DD")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"`{value}` is neither an RFC 3339 time nor a date YYYY-MM-DD") from None


TimeOrDate = Annotated[
    datetime | date,
    PlainValidator(_time_or_date),
    WithJsonSchema(
        {
            "type": "string",
            "description": "RFC 3339 time; for an all-day event also a local date YYYY-MM-DD",
            "examples": ["2027-03-29T07:00:00Z", "2027-03-29"],
        }
    ),
]


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    start_time: TimeOrDate
    end_time: TimeOrDate
    event_type: EventType = "other"
    team_id: uuid.UUID | None = None
    is_all_day: bool = False
    location: Location | None = None
    attendee_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    recurrence: str | None = Field(
        default=None,
        max_length=500,
        description="RFC 5545 RRULE: FREQ=DAILY|WEEKLY|MONTHLY|YEARLY, INTERVAL, COUNT, UNTIL, "
        "BYDAY, BYMONTHDAY",
        examples=["FREQ=WEEKLY;BYDAY=MO"],
    )
    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA zone the recurrence is expanded in; default the creator's profile zone",
        examples=["Europe/Berlin"],
    )


class EventUpdate(BaseModel):
    """Every field optional; only the fields sent are applied."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    start_time: TimeOrDate | None = None
    end_time: TimeOrDate | None = None
    event_type: EventType | None = None
    is_all_day: bool | None = None
    location: Location | None = None
    recurrence: str | None = Field(default=None, max_length=500)
    timezone: str | None = Field(default=None, max_length=64)


class EventRead(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    start_time: datetime
    end_time: datetime
    start_date: date | None = Field(description="All-day events: the first local day")
    end_date: date | None = Field(description="All-day events: the last local day (inclusive)")
    event_type: EventType
    created_by_id: uuid.UUID
    team_id: uuid.UUID | None
    is_all_day: bool
    location: str | None
    timezone: str
    recurrence: str | None
    exdates: list[datetime]
    attendee_ids: list[uuid.UUID]
    sequence: int
    created_at: datetime
    updated_at: datetime


class CalendarItem(BaseModel):
    """One item of a range query: an event, one occurrence of a series, a task's deadline, a
    meeting, or an event of the caller's connected external calendar (``kind: "external"``, read
    only). ``id`` is the event's (the series' for an occurrence), the task's or the meeting's."""

    id: uuid.UUID
    kind: Literal["event", "task", "meeting", "external"]
    occurrence_start: datetime = Field(description="This occurrence's start (UTC)")
    title: str
    description: str
    start_time: datetime
    end_time: datetime
    start_date: date | None
    end_date: date | None
    event_type: EventType
    created_by_id: uuid.UUID | None
    team_id: uuid.UUID | None
    is_all_day: bool
    location: str | None
    timezone: str
    recurrence: str | None
    is_recurring: bool
    attendee_ids: list[uuid.UUID]
    task_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None
    source: str | None = Field(
        default=None, description="`kind: external`: the integration type (`google_calendar`)"
    )
    external_id: str | None = Field(default=None, description="`kind: external`: its id there")


class AttendeesPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_ids: list[uuid.UUID] = Field(max_length=500)


class AttendeesRead(BaseModel):
    event_id: uuid.UUID
    user_ids: list[uuid.UUID]
