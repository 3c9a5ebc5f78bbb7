"""What notifications consumes (``Consumer("notifications")``): the only way notifications are
made. One small handler per kind; each says what the event means for whom (a
:class:`~notifications.delivery.rules.Draft` per recipient) and :func:`notify` does the rest
(preferences, holds, mail, the ``delivered`` event) set-based when the batch commits. The task
handlers, the busiest, take each run of consecutive events of their type (``on_batch``): one
call, one span and one clock reading per run instead of per event. The actor
is never notified of their own action (``actor_id`` == recipient: dropped in delivery).

Kinds:

- ``tasks.task.assigned`` → ``task.assigned`` to the new assignee. (tasks also publishes it for a
  task *created* with an assignee, right after ``tasks.task.created``: handling ``created`` too
  would notify twice.) ``urgent`` priority makes it a ``warning``, so no hold keeps it back.
- ``tasks.comment.added`` → ``task.commented`` to the task's assignee and creator (the event
  carries both, ``assignee_id`` and ``task_created_by_id``: no projection of tasks is needed).
- ``teams.member.added`` → ``team.member_added`` to the member (not to a team's creator, who
  added themself). Team names come from ``teams.team.created``/``updated``.
- ``meetings.meeting.scheduled`` → ``meeting.invited`` to each of ``participant_ids``;
  ``meetings.meeting.started`` → ``meeting.started`` to them, never held (it starts now).
- ``calendar.reminder.due`` → ``calendar.reminder`` to each of ``recipient_ids``; its
  ``reminder_type`` (``email``, ``notification``/``in_app``, ``both``) chooses the channels; one
  whose ``start_time`` is within 15 minutes is never held.
- ``chat.message.posted`` with ``mentions`` (the ``@usernames`` chat found in the text) →
  ``chat.mention`` to each mentioned user who is a member of the room's team.
- ``focus.goal.reached`` → ``focus.goal_reached`` (``success``) to the goal's user.
- ``integrations.integration.needs_reconnect`` → ``integration.needs_reconnect`` (``warning``)
  to the integration's owner.

Projections: ``identity.user.*`` (username, e-mail, timezone, active), ``focus.session.started``
/ ``ended`` (who focuses; an ended session releases its user's hold at once), ``teams.*`` (names,
and the membership projection of ``teams_client``).

Meetings, calendar and integrations do not exist yet: their handlers read the CONTRACT.md shapes
(ids as above, plus ``title``/``start_time`` where a message needs them, each optional).
"""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from teams_client.events import MEMBER_ADDED, TEAM_CREATED, TEAM_UPDATED, member_of
from vc_common.context import Context
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.timezones import user_timezone_of

from notifications import kinds
from notifications.delivery.rules import Draft, Policy, starts_soon
from notifications.delivery.service import flush_now, notify, release_user
from notifications.kinds import Channels
from notifications.models import membership
from notifications.projections import repository as projections

log = logging.getLogger("notifications.consumers")

# large batches: a batch's notifications are written with a few set-based statements
consumer = Consumer("notifications", batch_size=500)
membership.register(consumer)

SNIPPET = 200
MAX_MENTIONS = 20
INTEGRATION_NAMES = {
    "google_calendar": "Google Calendar",
    "slack": "Slack",
    "github": "GitHub",
    "notion": "Notion",
    "zoom": "Zoom",
    "microsoft_teams": "Microsoft Teams",
}


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    return _parse_uuid(str(value))


@functools.lru_cache(maxsize=4096)
def _parse_uuid(text: str) -> uuid.UUID | None:
    """Cached: the same teams, actors and assignees recur from event to event, and parsing one
    costs ~3 µs (a batch of 500 assignments parses 1,500: the profile's largest line)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _when(start: datetime, now: datetime) -> str:
    at = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    minutes = round((start - now).total_seconds() / 60)
    if 0 < minutes <= 90:
        return f"in {minutes} minute{'s' if minutes != 1 else ''} ({at})"
    if minutes <= 0 and minutes > -5:
        return f"now ({at})"
    return f"at {at}"


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def _ids(values: Any) -> list[uuid.UUID]:
    if not isinstance(values, list):
        return []
    return list(dict.fromkeys(u for v in values if (u := _uuid(v)) is not None))


def _policy(ctx: Context) -> Policy:
    return Policy.of(ctx.settings)


# --- tasks -----------------------------------------------------------------------------------


@consumer.on_batch("tasks.task.assigned")
async def on_tasks_assigned(ctx: Context, batch: list[CloudEvent]) -> None:
    """A run of assignments (the hottest kind: one call and one clock reading per run)."""
    now = ctx.now()
    await notify(ctx, [d for e in batch if (d := _assigned(e, now)) is not None])


def _assigned(event: CloudEvent, now: datetime) -> Draft | None:
    d = event.data
    assignee = _uuid(d.get("assignee_id"))
    if assignee is None:
        return None  # unassigned
    actor = _uuid(d.get("user_id"))
    title = d.get("title") or "a task"
    details = [f"{d['priority']} priority"] if d.get("priority") else []
    if d.get("due_date"):
        details.append(f"due {d['due_date']}")
    tail = f" ({', '.join(details)})" if details else ""
    return Draft(
        recipient_id=assignee,
        kind=kinds.TASK_ASSIGNED,
        title=f"Task assigned: {title}",
        message=(
            f"assigned you “{title}”{tail}." if actor else f"You were assigned “{title}”{tail}."
        ),
        created_at=now,
        notification_type="warning" if d.get("priority") == "urgent" else "info",
        team_id=_uuid(d.get("team_id")),
        link=f"/api/v1/tasks/{d['task_id']}",
        actor_id=actor,
        name_actor=actor is not None,
        source_event_id=event.id,
    )


@consumer.on_batch("tasks.comment.added")
async def on_comments_added(ctx: Context, batch: list[CloudEvent]) -> None:
    now = ctx.now()
    await notify(ctx, [draft for e in batch for draft in _commented(e, now)])


def _commented(event: CloudEvent, now: datetime) -> list[Draft]:
    d = event.data
    author = _uuid(d.get("user_id"))
    recipients = [
        u for u in _ids([d.get("assignee_id"), d.get("task_created_by_id")]) if u != author
    ]
    title = d.get("task_title") or "your task"
    return [
        Draft(
            recipient_id=r,
            kind=kinds.TASK_COMMENTED,
            title=f"New comment on “{title}”",
            message=f"commented: “{_snippet(str(d.get('content') or ''))}”",
            created_at=now,
            team_id=_uuid(d.get("team_id")),
            link=f"/api/v1/tasks/{d['task_id']}/comments",
            actor_id=author,
            name_actor=True,
            source_event_id=event.id,
        )
        for r in recipients
    ]


# --- teams -----------------------------------------------------------------------------------


@consumer.on(MEMBER_ADDED)
async def on_member_added(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    member = member_of(event)
    actor = _uuid(d.get("actor_id") or d.get("user_id"))
    if actor == member:
        return  # the creator of a team, added as its owner by their own action
    team_id = _uuid(d.get("team_id"))
    name = (await projections.team_name(ctx.session, team_id) if team_id else None) or "a team"
    role = d.get("role") or "member"
    article = "an" if role in ("admin", "owner") else "a"
    await notify(
        ctx,
        [
            Draft(
                recipient_id=member,
                kind=kinds.TEAM_MEMBER_ADDED,
                title=f"You joined {name}",
                message=f"added you to {name} as {article} {role}.",
                created_at=ctx.now(),
                team_id=team_id,
                link=f"/api/v1/teams/{team_id}",
                actor_id=actor,
                name_actor=actor is not None,
                source_event_id=event.id,
            )
        ],
    )


@consumer.on(TEAM_CREATED, TEAM_UPDATED)
async def on_team_named(ctx: Context, event: CloudEvent) -> None:
    team_id, name = _uuid(event.data.get("team_id")), event.data.get("name")
    if team_id is not None and isinstance(name, str) and name:
        await projections.set_team_name(ctx.session, team_id, name[:200])


@membership.on_team_deleted
async def forget_team(ctx: Context, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    await projections.forget_team(ctx.session, team_id)


# --- meetings (CONTRACT.md shapes: the producer is being built) -------------------------------


@consumer.on("meetings.meeting.scheduled")
async def on_meeting_scheduled(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    actor = _uuid(d.get("user_id"))
    title = d.get("title") or "a meeting"
    start = _time(d.get("start_time"))
    now = ctx.now()
    when = f" {_when(start, now)}" if start else ""
    await notify(
        ctx,
        [
            Draft(
                recipient_id=p,
                kind=kinds.MEETING_INVITED,
                title=f"Meeting invitation: {title}",
                message=(
                    f"invited you to “{title}”{when}."
                    if actor
                    else f"You are invited to “{title}”{when}."
                ),
                created_at=now,
                team_id=_uuid(d.get("team_id")),
                link=f"/api/v1/meetings/{d['meeting_id']}",
                actor_id=actor,
                name_actor=actor is not None,
                source_event_id=event.id,
                urgent=starts_soon(start, now, _policy(ctx)),
            )
            for p in _ids(d.get("participant_ids"))
        ],
    )


@consumer.on("meetings.meeting.started")
async def on_meeting_started(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    actor = _uuid(d.get("user_id"))
    title = d.get("title") or "A meeting you are in"
    await notify(
        ctx,
        [
            Draft(
                recipient_id=p,
                kind=kinds.MEETING_STARTED,
                title=f"Meeting started: {d.get('title') or 'your meeting'}",
                message=f"“{title}” has started: join now."
                if d.get("title")
                else f"{title} has started: join now.",
                created_at=ctx.now(),
                team_id=_uuid(d.get("team_id")),
                link=f"/api/v1/meetings/{d['meeting_id']}",
                actor_id=actor,
                source_event_id=event.id,
                urgent=True,  # it starts now: never held
            )
            for p in _ids(d.get("participant_ids"))
        ],
    )


# --- calendar (CONTRACT.md shape) -------------------------------------------------------------

REMINDER_CHANNELS = {
    "email": Channels(in_app=False, email=True),
    "notification": Channels(in_app=True, email=False),
    "in_app": Channels(in_app=True, email=False),
    "both": Channels(in_app=True, email=True),
}


@consumer.on("calendar.reminder.due")
async def on_reminder_due(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    allowed = REMINDER_CHANNELS.get(str(d.get("reminder_type")))
    if allowed is None:
        log.warning("reminder %s of unknown type %r ignored", event.id, d.get("reminder_type"))
        return
    title = d.get("title") or "an event"
    start = _time(d.get("start_time")) or _time(d.get("occurrence_start"))
    now = ctx.now()
    when = _when(start, now) if start else "soon"
    await notify(
        ctx,
        [
            Draft(
                recipient_id=r,
                kind=kinds.CALENDAR_REMINDER,
                title=f"Reminder: {title}",
                message=f"“{title}” starts {when}.",
                created_at=now,
                team_id=_uuid(d.get("team_id")),
                link=f"/api/v1/calendar/events/{d['event_id']}",
                source_event_id=event.id,
                urgent=starts_soon(start, now, _policy(ctx)),
                allowed=allowed,
            )
            for r in _ids(d.get("recipient_ids"))
        ],
    )


# --- chat ------------------------------------------------------------------------------------


def _candidates(mentions: Any) -> set[str]:
    """The usernames a message's ``@tokens`` may name: as written, and without the trailing
    punctuation that ends a sentence (``@bob.`` is bob)."""
    out: set[str] = set()
    if not isinstance(mentions, list):
        return out
    for m in mentions[:MAX_MENTIONS]:
        if isinstance(m, str) and m:
            out.add(m.lower())
            stripped = m.rstrip(".-+")
            if stripped:
                out.add(stripped.lower())
    return out


@consumer.on("chat.message.posted")
async def on_message_posted(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    names = _candidates(d.get("mentions"))
    team_id = _uuid(d.get("team_id"))
    if not names or team_id is None:
        return
    author = _uuid(d.get("user_id"))
    found = await projections.ids_by_username(ctx.session, names)
    recipients = []
    for user_id in dict.fromkeys(found.values()):
        if user_id != author and await membership.cached(ctx.session, team_id, user_id):
            recipients.append(user_id)  # only members of the room's team read the room
    now = ctx.now()
    await notify(
        ctx,
        [
            Draft(
                recipient_id=r,
                kind=kinds.CHAT_MENTION,
                title="You were mentioned in chat",
                message="mentioned you in a message.",
                created_at=now,
                team_id=team_id,
                link=f"/api/v1/messages/{d['message_id']}",
                actor_id=author,
                name_actor=True,
                source_event_id=event.id,
            )
            for r in recipients
        ],
    )


# --- focus -----------------------------------------------------------------------------------


def _session_times(d: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID, datetime, datetime] | None:
    sid, uid = _uuid(d.get("session_id")), _uuid(d.get("user_id"))
    start, planned = _time(d.get("start_time")), _time(d.get("planned_end_time"))
    if sid is None or uid is None or start is None or planned is None:
        return None
    return sid, uid, start, planned


@consumer.on("focus.session.started")
async def on_focus_started(ctx: Context, event: CloudEvent) -> None:
    got = _session_times(event.data)
    if got is None:
        log.warning("focus.session.started %s without its ids or times ignored", event.id)
        return
    await flush_now(ctx.session)  # what came before in the batch was not held by this one
    await projections.focus_started(ctx.session, *got)


@consumer.on("focus.session.ended")
async def on_focus_ended(ctx: Context, event: CloudEvent) -> None:
    got = _session_times(event.data)
    if got is None:
        log.warning("focus.session.ended %s without its ids or times ignored", event.id)
        return
    sid, uid, start, planned = got
    ended = _time(event.data.get("end_time")) or event.time
    await flush_now(ctx.session)
    await projections.focus_ended(ctx.session, sid, uid, start, planned, ended)
    now = ctx.now()
    await projections.forget_old_sessions(ctx.session, uid, now - timedelta(days=2))
    await ctx.session.run_sync(release_user, uid, now, _policy(ctx))


@consumer.on("focus.goal.reached")
async def on_goal_reached(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    user = _uuid(d.get("user_id"))
    if user is None:
        return
    day = d.get("date") or ""
    team_id = _uuid(d.get("team_id"))
    link = f"/api/v1/focus/goals/{day}" + (f"?team_id={team_id}" if team_id else "")
    await notify(
        ctx,
        [
            Draft(
                recipient_id=user,
                kind=kinds.FOCUS_GOAL_REACHED,
                title="Focus goal reached",
                message=(
                    f"You focused {float(d.get('actual_hours') or 0):g} h of your "
                    f"{float(d.get('target_hours') or 0):g} h goal for {day}."
                ),
                created_at=ctx.now(),
                notification_type="success",
                team_id=team_id,
                link=link,
                source_event_id=event.id,  # the system noticed: no actor
            )
        ],
    )


# --- integrations (CONTRACT.md shape) ---------------------------------------------------------


@consumer.on("integrations.integration.needs_reconnect")
async def on_needs_reconnect(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    owner = _uuid(d.get("owner_id") or d.get("user_id"))
    if owner is None:
        return
    kind = str(d.get("integration_type") or "")
    name = INTEGRATION_NAMES.get(kind, kind.replace("_", " ").title() or "An integration")
    await notify(
        ctx,
        [
            Draft(
                recipient_id=owner,
                kind=kinds.INTEGRATION_NEEDS_RECONNECT,
                title=f"Reconnect {name}",
                message=f"{name} no longer accepts our access; connect it again to resume syncing.",
                created_at=ctx.now(),
                notification_type="warning",
                link="/api/v1/integrations",
                source_event_id=event.id,  # the provider refused a refresh: nobody acted
            )
        ],
    )


# --- identity --------------------------------------------------------------------------------


@consumer.on("identity.user.registered", "identity.user.updated")
async def on_user(ctx: Context, event: CloudEvent) -> None:
    d = event.data
    user_id = _uuid(d.get("user_id") or event.subject)
    if user_id is None:
        return
    stated = user_timezone_of(event)
    await flush_now(ctx.session)  # quiet hours of earlier events used the zone known then
    await projections.upsert_user(
        ctx.session,
        user_id,
        username=d.get("username") if isinstance(d.get("username"), str) else None,
        timezone=stated[1] if stated else None,
        email=d.get("email") if isinstance(d.get("email"), str) else None,
        is_active=True if event.type == "identity.user.registered" else None,
        time=event.time,
    )


@consumer.on("identity.user.deactivated", "identity.user.reactivated")
async def on_user_active(ctx: Context, event: CloudEvent) -> None:
    user_id = _uuid(event.data.get("user_id") or event.subject)
    if user_id is None:
        return
    await flush_now(ctx.session)
    await projections.upsert_user(
        ctx.session,
        user_id,
        username=None,
        timezone=None,
        email=None,
        is_active=event.type == "identity.user.reactivated",
        time=event.time,
    )
