"""Every rule about events, attendees, occurrences and the range query.

Who may do what comes from ``vc_calendar.permissions`` through ``ctx.authorize``: a team's event
is seen by its members (404 for anyone else), a personal one by its creator alone (404), and
changed by its creator or an admin of the team (403 for other members). Bad input is an
``Invalid`` (422) raised before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from vc_common.context import Context
from vc_common.errors import Invalid, NotFound
from vc_common.pagination import PageParams, decode_cursor, encode_cursor
from vc_common.timezones import DEFAULT_TIMEZONE, is_valid_timezone

from vc_calendar import events
from vc_calendar.calendar_events import repository as repo
from vc_calendar.calendar_events.schemas import EventCreate, EventUpdate
from vc_calendar.models import CalendarEvent, ImportedEvent, MeetingItem, TaskDeadline
from vc_calendar.recurrence import (
    RuleError,
    Series,
    local_midnight,
    parse_rule,
    rfc3339,
    zone,
)
from vc_calendar.reminders import service as reminders
from vc_calendar.sources import repository as sources
from vc_calendar.users import repository as users

EVENT_NOT_FOUND = "Event not found."


@dataclass(slots=True)
class EventView:
    event: CalendarEvent
    attendee_ids: list[uuid.UUID]
    exdates: list[datetime] = field(default_factory=list)


def series_of(ev: CalendarEvent, exdates: Sequence[datetime] = ()) -> Series:
    return Series(ev.start_time, ev.end_time, ev.timezone, ev.recurrence, frozenset(exdates))


def local_dates(ev: CalendarEvent) -> tuple[date | None, date | None]:
    """An all-day event's first and last local day (inclusive)."""
    if not ev.is_all_day:
        return None, None
    tz = zone(ev.timezone)
    first = ev.start_time.astimezone(tz).date()
    last = ev.end_time.astimezone(tz).date() - timedelta(days=1)
    return first, max(first, last)


# ------------------------------------------------------------------------------- checks


def _timezone(name: str, loc: list[str | int]) -> str:
    if not is_valid_timezone(name):
        raise Invalid(f"`{name}` is not an IANA timezone (like Europe/Berlin).", loc=loc)
    return name


def _instant(value: datetime | date, tz: ZoneInfo, all_day: bool, loc: list[str | int]) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise Invalid("A time needs its UTC offset (RFC 3339, e.g. `...T09:00:00Z`).", loc=loc)
        instant = value.astimezone(UTC)
        if all_day and instant.astimezone(tz).time() != time(0):
            raise Invalid(
                "An all-day event starts and ends at local midnights (or give dates).", loc=loc
            )
        return instant
    if not all_day:
        raise Invalid("A date alone is only for all-day events; give an RFC 3339 time.", loc=loc)
    return local_midnight(value, tz)


def _timing(
    start: datetime | date, end: datetime | date, tz_name: str, all_day: bool
) -> tuple[datetime, datetime]:
    tz = zone(tz_name)
    s = _instant(start, tz, all_day, ["body", "start_time"])
    e = _instant(end, tz, all_day, ["body", "end_time"])
    if e < s:
        raise Invalid("`end_time` is before `start_time`.", loc=["body", "end_time"])
    if all_day and e == s:
        raise Invalid(
            "An all-day event ends at the midnight after its last day (at least one day).",
            loc=["body", "end_time"],
        )
    return s, e


def _rule(text: str | None, tz_name: str, all_day: bool) -> str | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_rule(text, tz_name, all_day=all_day).text
    except RuleError as exc:
        raise Invalid(str(exc), loc=["body", "recurrence"]) from None


def _check_series(series: Series) -> None:
    if series.rule is None:
        return
    if series.is_empty():
        raise Invalid("The recurrence yields no occurrence.", loc=["body", "recurrence"])
    if not series.first_is_an_occurrence():
        raise Invalid(
            "`start_time` must be the first occurrence of the recurrence (e.g. a Monday for "
            "FREQ=WEEKLY;BYDAY=MO).",
            loc=["body", "start_time"],
        )


async def _check_attendees(
    ctx: Context, team_id: uuid.UUID | None, creator: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(user_ids))
    for i, uid in enumerate(wanted):
        if team_id is None:
            if uid != creator:
                raise Invalid(
                    "A personal event may only invite its creator; give a team_id to invite "
                    "others.",
                    loc=["body", "attendee_ids", i],
                )
        elif await ctx.membership(team_id, uid) is None:
            raise Invalid(
                f"User {uid} is not a member of the event's team.", loc=["body", "attendee_ids", i]
            )
    return sorted(wanted)


# ------------------------------------------------------------------------------- events


async def create_event(ctx: Context, data: EventCreate) -> EventView:
    session, user = ctx.session, ctx.user
    await ctx.authorize(data.team_id, "event.create", author_id=user.id)
    tz_name = (
        _timezone(data.timezone, ["body", "timezone"])
        if data.timezone
        else await users.timezone_of(session, user.id)
    )
    start, end = _timing(data.start_time, data.end_time, tz_name, data.is_all_day)
    rule = _rule(data.recurrence, tz_name, data.is_all_day)
    series = Series(start, end, tz_name, rule)
    _check_series(series)
    attendees = await _check_attendees(ctx, data.team_id, user.id, data.attendee_ids)
    ev = CalendarEvent(
        title=data.title,
        description=data.description,
        start_time=start,
        end_time=end,
        event_type=data.event_type,
        created_by_id=user.id,
        team_id=data.team_id,
        is_all_day=data.is_all_day,
        location=data.location or None,
        timezone=tz_name,
        recurrence=rule,
        series_end=series.series_end(),
        sequence=0,
    )
    session.add(ev)
    await session.flush()
    await repo.set_attendees(session, ev.id, attendees)
    await events.event_created(ctx, ev, attendees, user.id)
    return EventView(ev, attendees)


async def _visible(
    ctx: Context, event_id: uuid.UUID, action: str, *, lock: bool = False
) -> CalendarEvent:
    ev = await repo.get(ctx.session, event_id, lock=lock)
    if ev is None:
        raise NotFound(EVENT_NOT_FOUND)
    await ctx.authorize(
        ev.team_id, "event.read", author_id=ev.created_by_id, not_found=EVENT_NOT_FOUND
    )
    if action != "event.read":
        await ctx.authorize(
            ev.team_id, action, author_id=ev.created_by_id, not_found=EVENT_NOT_FOUND
        )
    return ev


async def get_event(ctx: Context, event_id: uuid.UUID) -> EventView:
    ev: CalendarEvent = await _visible(ctx, event_id, "event.read")
    return EventView(
        ev,
        await repo.attendees_of(ctx.session, ev.id),
        await repo.exdates_of(ctx.session, ev.id),
    )


TIMING_FIELDS = ("start_time", "end_time", "is_all_day", "timezone", "recurrence")


async def update_event(ctx: Context, event_id: uuid.UUID, data: EventUpdate) -> EventView:
    session, user = ctx.session, ctx.user
    ev: CalendarEvent = await _visible(ctx, event_id, "event.edit", lock=True)
    changes = data.model_dump(exclude_unset=True)
    for key in ("title", "event_type", "is_all_day", "start_time", "end_time", "timezone"):
        if key in changes and changes[key] is None:
            raise Invalid(f"`{key}` cannot be null.", loc=["body", key])
    changed: list[str] = []
    for key in ("title", "description", "event_type", "location"):
        if key in changes:
            value = changes[key]
            if key == "description" and value is None:
                value = ""
            if key == "location" and not value:
                value = None
            if getattr(ev, key) != value:
                setattr(ev, key, value)
                changed.append(key)
    exdates = await repo.exdates_of(session, ev.id)
    if any(k in changes for k in TIMING_FIELDS):
        tz_name = (
            _timezone(changes["timezone"], ["body", "timezone"])
            if "timezone" in changes
            else ev.timezone
        )
        all_day = changes.get("is_all_day", ev.is_all_day)
        old_tz = zone(ev.timezone)
        if all_day and ev.is_all_day and "start_time" not in changes:
            # an all-day event keeps its local days when only its zone changes
            start_in: datetime | date = ev.start_time.astimezone(old_tz).date()
        else:
            start_in = changes.get("start_time", ev.start_time)
        if all_day and ev.is_all_day and "end_time" not in changes:
            end_in: datetime | date = ev.end_time.astimezone(old_tz).date()
        else:
            end_in = changes.get("end_time", ev.end_time)
        start, end = _timing(start_in, end_in, tz_name, all_day)
        rule = (
            _rule(changes["recurrence"], tz_name, all_day)
            if "recurrence" in changes
            else (_rule(ev.recurrence, tz_name, all_day) if ev.recurrence else None)
        )
        series = Series(start, end, tz_name, rule)
        _check_series(series)
        before = (ev.start_time, ev.end_time, ev.timezone, ev.recurrence, ev.is_all_day)
        after = (start, end, tz_name, rule, all_day)
        if before != after:
            for key, value in zip(
                ("start_time", "end_time", "timezone", "recurrence", "is_all_day"),
                after,
                strict=True,
            ):
                if getattr(ev, key) != value:
                    setattr(ev, key, value)
                    changed.append(key)
            ev.series_end = series.series_end()
            # EXDATEs that are no longer occurrences of the new timing mean nothing: dropped
            kept = [d for d in exdates if rule is not None and series.contains(d)]
            if kept != exdates:
                await repo.replace_exdates(session, ev.id, kept)
                exdates = kept
                changed.append("exdates")
    attendees = await repo.attendees_of(session, ev.id)
    if changed:
        ev.sequence += 1
        ev.updated_at = ctx.now()
        await session.flush()
        if any(k in changed for k in TIMING_FIELDS):
            await reminders.replan_event(ctx, ev, series_of(ev, exdates))
        await events.event_updated(ctx, ev, attendees, exdates, user.id, changed)
    return EventView(ev, attendees, exdates)


async def cancel_event(ctx: Context, event_id: uuid.UUID) -> None:
    """DELETE cancels: the event, its reminders (nothing more fires) and its attendances go;
    ``calendar.event.cancelled`` tells the attendees."""
    session, user = ctx.session, ctx.user
    ev: CalendarEvent = await _visible(ctx, event_id, "event.edit", lock=True)
    attendees = await repo.attendees_of(session, ev.id)
    exdates = await repo.exdates_of(session, ev.id)
    await reminders.lock_event_reminders(ctx, ev.id)
    await events.event_cancelled(ctx, ev, attendees, exdates, user.id)
    await repo.delete_event(session, ev.id)


async def drop_occurrence(ctx: Context, event_id: uuid.UUID, occurrence_start: datetime) -> None:
    session, user = ctx.session, ctx.user
    if occurrence_start.tzinfo is None:
        raise Invalid(
            "`occurrence_start` needs its UTC offset (e.g. 2027-03-29T07:00:00Z).",
            loc=["path", "occurrence_start"],
        )
    at = occurrence_start.astimezone(UTC)
    ev: CalendarEvent = await _visible(ctx, event_id, "event.edit", lock=True)
    exdates = await repo.exdates_of(session, ev.id)
    if ev.recurrence is None:
        raise NotFound("This event is not a series; DELETE the event to cancel it.")
    if at in exdates:
        return  # dropped already: the same answer, nothing more
    series = series_of(ev, exdates)
    if not series.contains(at):
        raise NotFound("The series has no occurrence starting then.")
    await repo.add_exdate(session, ev.id, at)
    exdates = sorted([*exdates, at])
    ev.sequence += 1
    ev.updated_at = ctx.now()
    await session.flush()
    await reminders.replan_event(ctx, ev, series_of(ev, exdates))
    attendees = await repo.attendees_of(session, ev.id)
    await events.event_updated(
        ctx, ev, attendees, exdates, user.id, ["exdates"], occurrence_start=at
    )


async def get_attendees(ctx: Context, event_id: uuid.UUID) -> list[uuid.UUID]:
    ev: CalendarEvent = await _visible(ctx, event_id, "event.read")
    return await repo.attendees_of(ctx.session, ev.id)


async def put_attendees(
    ctx: Context, event_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    session, user = ctx.session, ctx.user
    ev: CalendarEvent = await _visible(ctx, event_id, "event.edit", lock=True)
    wanted = await _check_attendees(ctx, ev.team_id, ev.created_by_id, user_ids)
    before = await repo.attendees_of(session, ev.id)
    if wanted == before:
        return before
    await repo.set_attendees(session, ev.id, wanted)
    ev.sequence += 1
    ev.updated_at = ctx.now()
    await session.flush()
    exdates = await repo.exdates_of(session, ev.id)
    await events.event_updated(
        ctx, ev, wanted, exdates, user.id, ["attendee_ids"], previous_attendee_ids=before
    )
    return wanted


async def forget_team(ctx: Context, team_id: uuid.UUID) -> None:
    """A deleted team's events go with it (reminders and attendances cascade)."""
    await repo.delete_team_events(ctx.session, team_id)


# --------------------------------------------------------------------------- range query


@dataclass(slots=True)
class Item:
    """One item of a range query (what ``CalendarItem`` renders)."""

    id: uuid.UUID
    kind: str
    start: datetime
    end: datetime
    title: str
    event_type: str
    timezone: str
    description: str = ""
    created_by_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    is_all_day: bool = False
    location: str | None = None
    recurrence: str | None = None
    attendee_ids: list[uuid.UUID] = field(default_factory=list)
    start_date: date | None = None
    end_date: date | None = None
    task_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None
    source: str | None = None
    external_id: str | None = None


def parse_bound(raw: str, tz: ZoneInfo, loc: list[str | int]) -> tuple[datetime, bool]:
    """A range bound: a local date (its local midnight) or an RFC 3339 instant; True if a date."""
    text = raw.strip()
    try:
        if len(text) == 10:
            return local_midnight(date.fromisoformat(text), tz), True
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Invalid(
            f"`{raw}` is neither a date (YYYY-MM-DD) nor an RFC 3339 time.", loc=loc
        ) from None
    if parsed.tzinfo is None:
        raise Invalid("A time needs its UTC offset (RFC 3339).", loc=loc)
    return parsed.astimezone(UTC), False


def window(raw_from: str, raw_to: str, max_days: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start, start_is_date = parse_bound(raw_from, tz, ["query", "from"])
    end, end_is_date = parse_bound(raw_to, tz, ["query", "to"])
    if end <= start:
        raise Invalid("`to` must be after `from`.", loc=["query", "to"])
    days: float
    if start_is_date and end_is_date:
        days = (date.fromisoformat(raw_to.strip()) - date.fromisoformat(raw_from.strip())).days
    else:
        days = (end - start) / timedelta(days=1)
    if days > max_days:
        raise Invalid(f"A range is at most {max_days} days.", loc=["query", "to"])
    return start, end


def event_item(row: Any, start: datetime, end: datetime) -> Item:
    """One occurrence of an event row (of :func:`repo.visible_event_rows`)."""
    start_date = end_date = None
    if row.is_all_day:
        tz = zone(row.timezone)
        first = row.start_time.astimezone(tz).date()
        span = max(timedelta(0), row.end_time.astimezone(tz).date() - timedelta(days=1) - first)
        start_date = start.astimezone(tz).date()
        end_date = start_date + span
    return Item(
        id=row.id,
        kind="event",
        start=start,
        end=end,
        title=row.title,
        event_type=row.event_type,
        timezone=row.timezone,
        description=row.description,
        created_by_id=row.created_by_id,
        team_id=row.team_id,
        is_all_day=row.is_all_day,
        location=row.location,
        recurrence=row.recurrence,
        attendee_ids=list(row.attendee_ids or ()),
        start_date=start_date,
        end_date=end_date,
    )


def deadline_item(d: TaskDeadline, tz: ZoneInfo) -> Item:
    assert d.due_date is not None
    return Item(
        id=d.task_id,
        kind="task",
        start=local_midnight(d.due_date, tz),
        end=local_midnight(d.due_date + timedelta(days=1), tz),
        title=d.title,
        event_type="deadline",
        timezone=str(tz.key),
        team_id=d.team_id,
        is_all_day=True,
        attendee_ids=[d.assignee_id] if d.assignee_id else [],
        start_date=d.due_date,
        end_date=d.due_date,
        task_id=d.task_id,
    )


def meeting_item(m: MeetingItem, tz: ZoneInfo) -> Item:
    return Item(
        id=m.meeting_id,
        kind="meeting",
        start=m.start_time,
        end=m.end_time,
        title=m.title,
        event_type="meeting",
        timezone=str(tz.key),
        team_id=m.team_id,
        attendee_ids=sorted(m.participant_ids),
        meeting_id=m.meeting_id,
    )


def imported_item(e: ImportedEvent, tz: ZoneInfo) -> Item:
    start_date = end_date = None
    if e.is_all_day:  # Google's all-day dates, stored as UTC midnights
        start_date = e.start_time.astimezone(UTC).date()
        end_date = max(start_date, (e.end_time - timedelta(days=1)).astimezone(UTC).date())
    return Item(
        id=e.id,
        kind="external",
        start=e.start_time,
        end=e.end_time,
        title=e.title,
        event_type="other",
        timezone=str(tz.key),
        description=e.description,
        created_by_id=e.user_id,
        is_all_day=e.is_all_day,
        location=e.location,
        attendee_ids=[e.user_id],
        start_date=start_date,
        end_date=end_date,
        source=e.integration_type,
        external_id=e.external_id,
    )


# (start, id, kind, end, source): sorted by start then id; an Item is built for the page only
Entry = tuple[datetime, str, str, datetime, Any]


async def range_entries(
    ctx: Context,
    lo: datetime,
    hi: datetime,
    tz: ZoneInfo,
    team_id: uuid.UUID | None,
    team_ids: list[uuid.UUID],
) -> list[Entry]:
    """Everything the caller may see overlapping ``[lo, hi)``, ordered by start (then id):
    ``team_ids`` are the caller's teams (``team_id``: that one only)."""
    session, user = ctx.session, ctx.user
    if team_id is not None:
        await ctx.authorize(team_id, "calendar.read")
        team_ids = [team_id]
    entries: list[Entry] = []
    for row in await repo.visible_event_rows(session, user.id, team_ids, lo, hi, team_id=team_id):
        series = Series(
            row.start_time, row.end_time, row.timezone, row.recurrence, frozenset(row.exdates or ())
        )
        key = str(row.id)
        for occ in series.occurrences(lo, hi):
            entries.append((occ.start, key, "event", occ.end, row))
    first_day = lo.astimezone(tz).date()
    last_day = (hi - timedelta(microseconds=1)).astimezone(tz).date()
    for d in await sources.open_deadlines(session, team_ids, first_day, last_day):
        assert d.due_date is not None
        start, end = (
            local_midnight(d.due_date, tz),
            local_midnight(d.due_date + timedelta(days=1), tz),
        )
        if start < hi and end > lo:
            entries.append((start, str(d.task_id), "task", end, d))
    for m in await sources.meetings_of(session, user.id, team_ids, lo, hi, team_id=team_id):
        start, end = m.start_time, m.end_time
        if (start < hi and end > lo) or (start == end and lo <= start < hi):
            entries.append((start, str(m.meeting_id), "meeting", end, m))
    if team_id is None:  # a personal calendar's events belong to no team
        for e in await sources.imported_of(session, user.id, lo, hi):
            entries.append((e.start_time, str(e.id), "external", e.end_time, e))
    entries.sort(key=itemgetter(0, 1))
    return entries


def to_item(entry: Entry, tz: ZoneInfo) -> Item:
    start, _, kind, end, source = entry
    if kind == "event":
        return event_item(source, start, end)
    if kind == "task":
        return deadline_item(source, tz)
    if kind == "external":
        return imported_item(source, tz)
    return meeting_item(source, tz)


async def range_query(
    ctx: Context,
    raw_from: str,
    raw_to: str,
    team_id: uuid.UUID | None,
    page: PageParams,
    max_days: int,
) -> tuple[list[Item], str | None]:
    tz_name, team_ids = await repo.caller(ctx.session, ctx.user.id)
    tz = zone(tz_name or DEFAULT_TIMEZONE)
    lo, hi = window(raw_from, raw_to, max_days, tz)
    entries = await range_entries(ctx, lo, hi, tz, team_id, team_ids)
    if page.cursor:
        raw = decode_cursor(page.cursor, 2)
        try:
            after = (datetime.fromisoformat(str(raw[0]).replace("Z", "+00:00")), str(raw[1]))
        except ValueError:
            raise Invalid("The cursor is not valid.", loc=["query", "cursor"]) from None
        entries = [e for e in entries if (e[0], e[1]) > after]
    next_cursor = None
    if len(entries) > page.limit:
        entries = entries[: page.limit]
        last = entries[-1]
        next_cursor = encode_cursor([rfc3339(last[0]), last[1]])
    return [to_item(e, tz) for e in entries], next_cursor
