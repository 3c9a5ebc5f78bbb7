"""What realtime consumes: every context's events (``<context>.>`` for each of
``REALTIME_CONTEXTS``), by one consumer that one replica runs at a time
(:class:`~realtime.stream.leader.LeaderConsumer`).

For each event, in one transaction with its inbox row:

1. teams' membership events keep the projection (``teams_client``) that says who sees a team;
2. the facts of presence: ``focus.session.started`` / ``.ended``, ``meetings.participant.joined``
   / ``.left``, ``meetings.meeting.ended`` / ``.cancelled``, ``calendar.event.created`` /
   ``.updated`` / ``.cancelled`` (consumed in the CONTRACT's shapes; calendar and meetings
   publish them), and the statuses they change (``realtime.presence.changed`` in the outbox);
3. the stream: the event, as the frame a client receives, is appended to ``stream_log`` with its
   recipients (a team, or one user), unless it is older than the resume window (a replay of
   history rebuilds the facts without pushing the past to anyone).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent

from realtime.models import membership
from realtime.presence import repository as presence_repo
from realtime.presence import service as presence
from realtime.presence.service import parse_time
from realtime.settings import Settings
from realtime.stream import log as stream_log
from realtime.stream.leader import LeaderConsumer
from realtime.stream.routing import route

FOCUS_EVENTS = ("focus.session.started", "focus.session.ended")
MEETING_PRESENCE = ("meetings.participant.joined", "meetings.participant.left")
MEETING_OVER = ("meetings.meeting.ended", "meetings.meeting.cancelled")
CALENDAR_SET = ("calendar.event.created", "calendar.event.updated")
CALENDAR_CANCELLED = "calendar.event.cancelled"


def _uuid(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def on_focus(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    user_id = _uuid(d.get("user_id"))
    session_id = _uuid(d.get("session_id")) or _uuid(event.subject)
    if user_id is None or session_id is None:
        return
    start = parse_time(d.get("start_time"), event.time)
    ended = event.type == "focus.session.ended"
    await presence_repo.upsert_focus(
        ctx.session,
        {
            "session_id": session_id,
            "user_id": user_id,
            "team_id": _uuid(d.get("team_id")),
            "task_id": _uuid(d.get("task_id")),
            "focus_type": str(d.get("focus_type") or "custom"),
            "start_time": start,
            "planned_end_time": parse_time(d.get("planned_end_time"), start),
            "ended_at": parse_time(d.get("end_time"), event.time) if ended else None,
        },
    )
    await presence.recompute(ctx, [user_id])


async def on_participant(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    meeting_id, user_id = _uuid(d.get("meeting_id")), _uuid(d.get("user_id"))
    if meeting_id is None or user_id is None:
        return
    team_id = _uuid(d.get("team_id"))
    if event.type.endswith(".joined"):
        at = parse_time(d.get("joined_at"), event.time)
        await presence_repo.participant_joined(ctx.session, meeting_id, user_id, team_id, at)
    else:
        at = parse_time(d.get("left_at"), event.time)
        await presence_repo.participant_left(ctx.session, meeting_id, user_id, team_id, at)
    await presence.recompute(ctx, [user_id])


async def on_meeting_over(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    meeting_id = _uuid(d.get("meeting_id")) or _uuid(event.subject)
    if meeting_id is None:
        return
    at = parse_time(d.get("ended_at"), event.time)
    users = await presence_repo.meeting_ended(ctx.session, meeting_id, at)
    users += [u for u in map(_uuid, d.get("participant_ids") or []) if u is not None]
    await presence.recompute(ctx, users)


async def on_calendar_event(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    event_id = _uuid(d.get("event_id")) or _uuid(event.subject)
    if event_id is None:
        return
    before = await presence_repo.calendar_people(ctx.session, event_id)
    if event.type == CALENDAR_CANCELLED:
        await presence_repo.cancel_calendar_event(ctx.session, event_id, event.time)
        await presence.recompute(ctx, before)
        return
    start = parse_time(d.get("start_time"), event.time)
    creator = _uuid(d.get("created_by_id")) or _uuid(d.get("user_id"))
    attendees = d.get("attendee_ids")
    people: list[uuid.UUID] | None = None
    if attendees is not None or event.type == "calendar.event.created":
        people = [u for u in map(_uuid, attendees or []) if u is not None]
        if creator is not None:
            people.insert(0, creator)
    applied = await presence_repo.upsert_calendar_event(
        ctx.session,
        {
            "event_id": event_id,
            "team_id": _uuid(d.get("team_id")),
            "event_type": str(d.get("event_type") or "other"),
            "start_time": start,
            "end_time": parse_time(d.get("end_time"), start),
            "is_all_day": bool(d.get("is_all_day") or False),
            "recurrence": d.get("recurrence") or None,
            "timezone": str(d.get("timezone") or "UTC")[:64],
            "exdates": [parse_time(x, start) for x in d.get("exdates") or [] if x],
            "cancelled": False,
            "version": event.time,
        },
        people,
    )
    if applied:
        await presence.recompute(ctx, [*before, *(people or [])])


_made: dict[tuple[str, tuple[str, ...], float], Consumer] = {}


def make_consumer(settings: Settings) -> Consumer:
    """The service's consumer (one per name and contexts: the membership projection registers
    its handlers on a consumer name once)."""
    key = (settings.realtime_consumer, settings.contexts, settings.realtime_resume_window)
    if key not in _made:
        _made[key] = _build(settings)
    return _made[key]


def _build(settings: Settings) -> Consumer:
    consumer = LeaderConsumer(settings.realtime_consumer, batch_size=200)
    membership.register(consumer)
    consumer.on(*FOCUS_EVENTS)(on_focus)
    consumer.on(*MEETING_PRESENCE)(on_participant)
    consumer.on(*MEETING_OVER)(on_meeting_over)
    consumer.on(*CALENDAR_SET, CALENDAR_CANCELLED)(on_calendar_event)
    window = timedelta(seconds=settings.realtime_resume_window)

    async def to_stream(ctx: Context, event: CloudEvent) -> None:
        if event.time < ctx.now() - window:
            return  # history (a new consumer reads the streams from the start): facts only
        where = route(event)
        if where is not None:
            runtime = ctx.resource("realtime", required=False)  # this replica's hub, if any
            hub = runtime.hub if runtime is not None else None
            stream_log.append(ctx.session, event, where, hub.publish if hub else None)

    consumer.on(*(f"{c}.>" for c in settings.contexts))(to_stream)
    return consumer
