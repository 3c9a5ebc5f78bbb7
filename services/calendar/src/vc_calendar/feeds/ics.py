"""iCalendar documents, built with the ``icalendar`` library (RFC 5545).

Each event is one VEVENT: ``UID`` (``<event id>@virtualcoworking``), ``DTSTART``/``DTEND`` with
``TZID`` (the event's zone) or, for an all-day event, ``VALUE=DATE`` local dates, ``RRULE`` as
stored, ``EXDATE`` in the same form as ``DTSTART``, ``SEQUENCE``, ``SUMMARY``, ``DESCRIPTION``,
``LOCATION``, ``CATEGORIES`` (the event type). The VTIMEZONE of every zone used is included
(``add_missing_timezones``), so clients that do not know IANA names (Outlook) read the times
right. Deadlines and meetings from the range query are VEVENTs too (deadlines all-day).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import icalendar

from vc_calendar.models import CalendarEvent, MeetingItem, TaskDeadline
from vc_calendar.recurrence import zone

PRODID = "-//VirtualCoworking//Calendar 1.0//EN"
UID_DOMAIN = "virtualcoworking"


def uid(kind: str, id_: uuid.UUID) -> str:
    return f"{id_}@{UID_DOMAIN}" if kind == "event" else f"{kind}-{id_}@{UID_DOMAIN}"


def new_calendar(name: str | None = None) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    return cal


def _dates(ev: CalendarEvent) -> tuple[date, date]:
    tz = zone(ev.timezone)
    return ev.start_time.astimezone(tz).date(), ev.end_time.astimezone(tz).date()


def event_component(
    ev: CalendarEvent,
    exdates: Sequence[datetime],
    attendee_ids: Sequence[uuid.UUID],
    stamp: datetime,
) -> icalendar.Event:
    tz = zone(ev.timezone)
    vevent = icalendar.Event()
    vevent.add("uid", uid("event", ev.id))
    vevent.add("dtstamp", stamp)
    vevent.add("created", ev.created_at)
    vevent.add("last-modified", ev.updated_at)
    vevent.add("sequence", ev.sequence)
    vevent.add("summary", ev.title)
    if ev.description:
        vevent.add("description", ev.description)
    if ev.location:
        vevent.add("location", ev.location)
    vevent.add("categories", [ev.event_type.upper()])
    if ev.is_all_day:
        first, after = _dates(ev)
        vevent.add("dtstart", first)
        vevent.add("dtend", after)
    else:
        vevent.add("dtstart", ev.start_time.astimezone(tz))
        vevent.add("dtend", ev.end_time.astimezone(tz))
    if ev.recurrence:
        vevent.add("rrule", icalendar.vRecur.from_ical(ev.recurrence))
        for d in exdates:
            vevent.add("exdate", d.astimezone(tz).date() if ev.is_all_day else d.astimezone(tz))
    for a in attendee_ids:
        vevent.add("attendee", f"urn:uuid:{a}")
    vevent.add("x-virtualcoworking-event-id", str(ev.id))
    if ev.team_id:
        vevent.add("x-virtualcoworking-team-id", str(ev.team_id))
    return vevent


def deadline_component(d: TaskDeadline, stamp: datetime) -> icalendar.Event:
    assert d.due_date is not None
    vevent = icalendar.Event()
    vevent.add("uid", uid("task", d.task_id))
    vevent.add("dtstamp", stamp)
    vevent.add("summary", d.title)
    vevent.add("dtstart", d.due_date)
    vevent.add("dtend", d.due_date + timedelta(days=1))
    vevent.add("categories", ["DEADLINE"])
    vevent.add("transp", "TRANSPARENT")
    vevent.add("x-virtualcoworking-task-id", str(d.task_id))
    return vevent


def meeting_component(m: MeetingItem, stamp: datetime) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", uid("meeting", m.meeting_id))
    vevent.add("dtstamp", stamp)
    vevent.add("summary", m.title)
    vevent.add("dtstart", m.start_time)
    vevent.add("dtend", m.end_time)
    vevent.add("categories", ["MEETING"])
    vevent.add("x-virtualcoworking-meeting-id", str(m.meeting_id))
    return vevent


def render(cal: icalendar.Calendar, components: Iterable[icalendar.Event]) -> bytes:
    for c in components:
        cal.add_component(c)
    cal.add_missing_timezones()
    out: bytes = cal.to_ical()
    return out
