"""Every rule about meetings and their participants.

- Who may do what: ``meetings.permissions``, checked by ``ctx.authorize`` (404 for outsiders,
  403 for a member who is neither the creator nor an admin).
- Status moves only through ``state.transition`` (409 otherwise), on a row locked
  ``FOR UPDATE``: two ends at once are serialized and the second is a 409; an end waits for the
  joins in flight (they hold the row ``FOR SHARE``) and every later join sees ``completed``.
- Attendance: each join opens an interval, each leave closes it (``attendance``); a rejoin is a
  new interval of the same participant. A scheduled meeting starts with its first join.
- A meeting nobody ended completes by ``state.completion_due`` (everyone left a grace period
  ago, or ``end_time`` plus an overrun): the job does it, and a join past that point is a 409.
- Provider webhooks (LiveKit) are verified by the provider, applied once per event id, and
  drive the same transitions and intervals; their joined/left may come in any order.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vc_common.context import Context
from vc_common.errors import Conflict, Invalid, NotFound
from vc_common.ids import uuid7
from vc_common.pagination import PageParams

from meetings import events
from meetings.meetings import repository
from meetings.meetings.attendance import minutes, summarize
from meetings.meetings.models import AttendanceInterval, Meeting, MeetingParticipant
from meetings.meetings.schemas import MeetingCreate, MeetingUpdate
from meetings.meetings.state import (
    CANCELLED,
    COMPLETED,
    IN_PROGRESS,
    SCHEDULED,
    Timed,
    completion_due,
    transition,
)
from meetings.models import membership
from meetings.providers import JoinCredential, Joiner, ProviderEvent, Room, providers_for
from meetings.providers.hosted import hosted_room
from meetings.settings import Settings

NOT_FOUND = "Meeting not found."


@dataclass(frozen=True, slots=True)
class ParticipantView:
    user_id: uuid.UUID
    status: str
    invited: bool
    join_time: datetime | None
    leave_time: datetime | None
    attended_minutes: int


@dataclass(frozen=True, slots=True)
class MeetingView:
    meeting: Meeting
    participants: list[ParticipantView]


@dataclass(frozen=True, slots=True)
class JoinResult:
    provider: str
    room: Room
    participant: ParticipantView
    credential: JoinCredential


def _settings(ctx: Context) -> Settings:
    s: Settings = ctx.settings
    return s


def _grace(ctx: Context) -> timedelta:
    return timedelta(minutes=_settings(ctx).meetings_empty_grace_minutes)


def _overrun(ctx: Context) -> timedelta:
    return timedelta(minutes=_settings(ctx).meetings_overrun_minutes)


# ------------------------------------------------------------------------ views


def _view(
    p: MeetingParticipant | repository.ParticipantState,
    intervals: Iterable[AttendanceInterval],
    now: datetime,
) -> ParticipantView:
    seconds = (
        summarize(intervals, now).attended_seconds if p.status == "joined" else p.attended_seconds
    )
    return ParticipantView(
        user_id=p.user_id,
        status=p.status,
        invited=p.invited,
        join_time=p.join_time,
        leave_time=p.leave_time,
        attended_minutes=minutes(seconds),
    )


async def _participant_views(
    ctx: Context, participants: Sequence[MeetingParticipant]
) -> list[ParticipantView]:
    """Views of the participants; the intervals are read (one query) only for those in the
    meeting now, whose time is still running."""
    now = ctx.now()
    present = sorted({p.meeting_id for p in participants if p.status == "joined"})
    by_user: dict[tuple[uuid.UUID, uuid.UUID], list[AttendanceInterval]] = defaultdict(list)
    for i in await repository.intervals_of_meetings(ctx.session, present):
        by_user[(i.meeting_id, i.user_id)].append(i)
    return [_view(p, by_user.get((p.meeting_id, p.user_id), []), now) for p in participants]


async def _views(ctx: Context, meetings: Sequence[Meeting]) -> list[MeetingView]:
    parts = await repository.participants_of(ctx.session, [m.id for m in meetings])
    views = await _participant_views(ctx, parts)
    grouped: dict[uuid.UUID, list[ParticipantView]] = defaultdict(list)
    for p, v in zip(parts, views, strict=True):
        grouped[p.meeting_id].append(v)
    return [MeetingView(m, grouped.get(m.id, [])) for m in meetings]


def _apply_summary(
    p: MeetingParticipant, intervals: Iterable[AttendanceInterval], now: datetime
) -> ParticipantView:
    s = summarize(intervals, now)
    p.status = s.status
    p.join_time = s.join_time
    p.leave_time = s.leave_time
    p.attended_seconds = s.closed_seconds
    return ParticipantView(
        user_id=p.user_id,
        status=s.status,
        invited=p.invited,
        join_time=s.join_time,
        leave_time=s.leave_time,
        attended_minutes=minutes(s.attended_seconds),
    )


# ------------------------------------------------------------------------ loading


async def _load(ctx: Context, meeting_id: uuid.UUID, action: str) -> Meeting:
    """The meeting, if the caller may do ``action`` on it (404 when missing or not theirs to
    see, 403 when they see it but the rule refuses)."""
    m = await repository.get_meeting(ctx.session, meeting_id)
    if m is None:
        raise NotFound(NOT_FOUND)
    await ctx.authorize(m.team_id, action, author_id=m.created_by_id, not_found=NOT_FOUND)
    return m


async def _lock(ctx: Context, meeting_id: uuid.UUID, mode: repository.Lock) -> Meeting:
    m = await repository.get_meeting(ctx.session, meeting_id, lock=mode)
    if m is None:  # deleted meanwhile
        raise NotFound(NOT_FOUND)
    return m


async def _check_members(ctx: Context, team_id: uuid.UUID, user_ids: Sequence[uuid.UUID]) -> None:
    for i, uid in enumerate(user_ids):
        if await ctx.membership(team_id, uid) is None:
            raise Invalid(
                "Participants must be members of the meeting's team.",
                loc=["body", "participant_ids", i],
            )


def _check_times(start: datetime, end: datetime) -> None:
    if end <= start:
        raise Invalid("`end_time` must be after `start_time`.", loc=["body", "end_time"])


# ------------------------------------------------------------------------ meetings


async def create_meeting(ctx: Context, team_id: uuid.UUID, body: MeetingCreate) -> MeetingView:
    session, user = ctx.session, ctx.user
    await ctx.authorize(team_id, "meeting.create")
    _check_times(body.start_time, body.end_time)
    invitees = list(dict.fromkeys(u for u in body.participant_ids if u != user.id))
    await _check_members(ctx, team_id, invitees)
    meeting_id = uuid7()
    if body.provider is not None:  # the creator's own Zoom / Teams, through integrations
        provider = providers_for(ctx.settings).get(body.provider)
        room = await hosted_room(
            ctx.settings.integrations_url,
            user.token,
            body.provider,
            body.title,
            body.start_time,
            body.end_time,
            seconds=ctx.settings.meetings_integrations_timeout_seconds,
        )
    else:
        provider = providers_for(ctx.settings).for_new_meetings
        room = provider.new_room(meeting_id)
    m = Meeting(
        id=meeting_id,
        team_id=team_id,
        title=body.title,
        description=body.description,
        start_time=body.start_time,
        end_time=body.end_time,
        created_by_id=user.id,
        status=SCHEDULED,
        provider=provider.name,
        room_name=room.name,
        meeting_link=room.link,
    )
    session.add(m)
    await session.flush()
    people = [user.id, *invitees]
    for uid in people:
        session.add(
            MeetingParticipant(meeting_id=m.id, user_id=uid, invited=True, status="invited")
        )
    await session.flush()
    await session.refresh(m)
    await events.meeting_scheduled(session, m, user.id, people)
    return (await _views(ctx, [m]))[0]


async def list_meetings(
    ctx: Context,
    team_id: uuid.UUID,
    params: PageParams,
    *,
    status: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[list[MeetingView], str | None]:
    await ctx.authorize(team_id, "meeting.read")
    if start is not None and end is not None and end <= start:
        raise Invalid("`to` must be after `from`.", loc=["query", "to"])
    rows, cursor = await repository.list_meetings(
        ctx.session, team_id, params, status=status, start=start, end=end
    )
    return await _views(ctx, rows), cursor


async def get_meeting(ctx: Context, meeting_id: uuid.UUID) -> MeetingView:
    m = await _load(ctx, meeting_id, "meeting.read")
    return (await _views(ctx, [m]))[0]


async def update_meeting(ctx: Context, meeting_id: uuid.UUID, body: MeetingUpdate) -> MeetingView:
    session, user = ctx.session, ctx.user
    await _load(ctx, meeting_id, "meeting.manage")
    m = await _lock(ctx, meeting_id, "update")
    if m.status in (COMPLETED, CANCELLED):
        raise Conflict(f"A {m.status} meeting cannot be changed.", meeting_status=m.status)
    changes = body.model_dump(exclude_unset=True)
    for key in ("title", "start_time", "end_time"):
        if key in changes and changes[key] is None:
            raise Invalid(f"`{key}` cannot be null.", loc=["body", key])
    if changes.get("description", "") is None:
        changes["description"] = ""
    invite = changes.pop("participant_ids", None)
    if (
        m.status == IN_PROGRESS
        and "start_time" in changes
        and changes["start_time"] != m.start_time
    ):
        raise Conflict("A meeting in progress has started: its start_time cannot move.")
    _check_times(changes.get("start_time", m.start_time), changes.get("end_time", m.end_time))
    changed = [k for k, v in changes.items() if getattr(m, k) != v]
    for key in changed:
        setattr(m, key, changes[key])
    if invite is not None and await _reinvite(ctx, m, list(dict.fromkeys(invite))):
        changed.append("participant_ids")
    if changed:
        await session.flush()
        await session.refresh(m)
        people = await repository.participant_user_ids(session, m.id)
        await events.meeting_updated(session, m, user.id, people, changed)
    return (await _views(ctx, [m]))[0]


async def _reinvite(ctx: Context, m: Meeting, wanted: list[uuid.UUID]) -> bool:
    """Make the invitation list ``wanted`` (plus the creator); whoever joined stays a
    participant. True if anything changed."""
    session = ctx.session
    current = {p.user_id: p for p in await repository.lock_participants(session, m.id)}
    wanted = [u for u in wanted if u != m.created_by_id]
    await _check_members(ctx, m.team_id, [u for u in wanted if u not in current])
    keep = {m.created_by_id, *wanted}
    changed = False
    dropped = []
    for uid, p in current.items():
        if uid in keep:
            continue
        if p.join_time is None:
            dropped.append(uid)
        elif p.invited:
            p.invited = False
        else:
            continue
        changed = True
    await repository.delete_participants(session, m.id, dropped)
    for uid in wanted:
        found = current.get(uid)
        if found is None:
            session.add(
                MeetingParticipant(meeting_id=m.id, user_id=uid, invited=True, status="invited")
            )
            changed = True
        elif not found.invited:
            found.invited = True
            changed = True
    return changed


async def delete_meeting(ctx: Context, meeting_id: uuid.UUID) -> None:
    session, user = ctx.session, ctx.user
    await _load(ctx, meeting_id, "meeting.manage")
    m = await _lock(ctx, meeting_id, "update")
    if m.status == IN_PROGRESS:
        raise Conflict(
            "A meeting in progress cannot be deleted; end it first.", meeting_status=m.status
        )
    people = await repository.participant_user_ids(session, m.id)
    if m.status == SCHEDULED:  # for the calendars that show it: it will not take place
        await events.meeting_cancelled(session, m, user.id, people, reason="deleted")
    await events.meeting_deleted(session, m, user.id, people)
    await repository.delete_meeting(session, m.id)


# ------------------------------------------------------------------------ transitions


async def start_meeting(ctx: Context, meeting_id: uuid.UUID) -> MeetingView:
    session, user = ctx.session, ctx.user
    await _load(ctx, meeting_id, "meeting.manage")
    m = await _lock(ctx, meeting_id, "update")
    transition(m, IN_PROGRESS, ctx.now())
    await session.flush()
    await session.refresh(m)
    await events.meeting_started(
        session, m, user.id, await repository.participant_user_ids(session, m.id)
    )
    return (await _views(ctx, [m]))[0]


async def end_meeting(ctx: Context, meeting_id: uuid.UUID) -> MeetingView:
    await _load(ctx, meeting_id, "meeting.manage")
    m = await _lock(ctx, meeting_id, "update")
    await _complete(ctx, m, ctx.now(), ended_by="user", actor_id=ctx.user.id)
    return (await _views(ctx, [m]))[0]


async def cancel_meeting(ctx: Context, meeting_id: uuid.UUID) -> MeetingView:
    session, user = ctx.session, ctx.user
    await _load(ctx, meeting_id, "meeting.manage")
    m = await _lock(ctx, meeting_id, "update")
    transition(m, CANCELLED, ctx.now())
    await session.flush()
    await session.refresh(m)
    people = await repository.participant_user_ids(session, m.id)
    await events.meeting_cancelled(session, m, user.id, people, reason="cancelled")
    return (await _views(ctx, [m]))[0]


async def _complete(
    ctx: Context, m: Meeting, at: datetime, *, ended_by: str, actor_id: uuid.UUID
) -> None:
    """Complete ``m`` (locked ``FOR UPDATE``) at ``at``: every stay still open closes then (and
    none runs past it), each participant still in gets ``meetings.participant.left``."""
    session = ctx.session
    transition(m, COMPLETED, at, ended_by=ended_by)
    assert m.ended_at is not None
    ended_at = m.ended_at
    parts = await repository.lock_participants(session, m.id)
    by_user: dict[uuid.UUID, list[AttendanceInterval]] = defaultdict(list)
    for i in await repository.intervals_of(session, m.id):
        by_user[i.user_id].append(i)
    left: list[tuple[MeetingParticipant, datetime, ParticipantView]] = []
    for p in parts:
        ivs = by_user.get(p.user_id, [])
        opened = [i.joined_at for i in ivs if i.left_at is None]
        for i in ivs:
            if i.left_at is None or i.left_at > ended_at:
                i.left_at = max(ended_at, i.joined_at)
        view = _apply_summary(p, ivs, ended_at)
        if opened:
            left.append((p, min(opened), view))
    await session.flush()
    await session.refresh(m)
    for p, joined_at, view in left:
        await events.participant_left(
            session,
            m,
            p.user_id,
            joined_at,
            max(ended_at, joined_at),
            view.attended_minutes,
            source="meeting_end",
        )
    await events.meeting_ended(
        session,
        m,
        actor_id,
        [p.user_id for p in parts],
        [p.user_id for p in parts if p.join_time is not None],
    )


async def _due(ctx: Context, m: Meeting, now: datetime) -> datetime | None:
    if m.status != IN_PROGRESS:
        return None
    presence = await repository.presence(ctx.session, m.id)
    return completion_due(m, presence, now, grace=_grace(ctx), overrun=_overrun(ctx))


async def complete_due_meetings(ctx: Context) -> int:
    """The auto-end job: complete the meetings nobody ended that are over by now. Claims
    ``FOR UPDATE SKIP LOCKED`` (any number of replicas at once: each meeting is completed by one
    of them, or by a request holding it), completes them in this unit of work with their
    events."""
    settings, now = _settings(ctx), ctx.now()
    claimed = await repository.claim_due(
        ctx.session,
        empty_before=now - _grace(ctx),
        overrun_before=now - _overrun(ctx),
        limit=settings.meetings_auto_end_batch_size,
    )
    done = 0
    for m in claimed:
        due = await _due(ctx, m, now)
        if due is not None:
            await _complete(ctx, m, due, ended_by="auto", actor_id=m.created_by_id)
            done += 1
    return done


# ------------------------------------------------------------------------ join and leave


async def join_meeting(ctx: Context, meeting_id: uuid.UUID) -> JoinResult:
    session, user, now = ctx.session, ctx.user, ctx.now()
    # the hot path of a meeting's start (everyone joins at once), in two statements: what the
    # join reads (the meeting, its row shared FOR KEY SHARE: joins run side by side, an end
    # excludes them; who is in it; the joiner's standing in the team; their participant row,
    # locked), then the join itself with its event
    s = await repository.join_state(session, meeting_id, user.id)
    if s is None:
        raise NotFound(NOT_FOUND)
    membership.prefetched(session, s.team_id, user.id, deleted=s.team_deleted, role=s.role)
    await ctx.authorize(s.team_id, "meeting.join", author_id=s.created_by_id, not_found=NOT_FOUND)
    meeting: Timed = s
    presence = s.presence
    starter: Meeting | None = None
    if s.status == SCHEDULED:  # this join may start it: one starter at a time
        found = await repository.meeting_and_presence(session, meeting_id, lock="no_key_update")
        assert found is not None  # our key share keeps it from being deleted
        starter, presence = found
        meeting = starter
    if meeting.status in (COMPLETED, CANCELLED):
        raise Conflict(
            f"The meeting is {meeting.status}; it cannot be joined.", meeting_status=meeting.status
        )
    if completion_due(meeting, presence, now, grace=_grace(ctx), overrun=_overrun(ctx)) is not None:
        raise Conflict("The meeting is over; it cannot be joined.", meeting_status=COMPLETED)
    if starter is not None and starter.status == SCHEDULED:
        await _start_by_join(ctx, starter, now)
    p = s.participant  # locked since the first statement: as it is now
    if p is not None and p.status == "joined":  # already in (a retried join): the same stay
        view = _view(p, await repository.intervals_of(session, s.id, user.id), now)
    else:
        # not in: every earlier stay is closed, so the new one only adds itself to the union
        rows = await events.participant_joined_by(
            session,
            repository.JOIN,
            repository.join_params(s.id, user.id, now),
            meeting_id=s.id,
            team_id=s.team_id,
            user_id=user.id,
            joined_at=now,
            first_join=p is None or p.join_time is None,
        )
        if rows:
            view = _just_joined(repository.participant_state(rows[0]))
        else:  # not a participant when read, and a concurrent join of theirs made them one
            again = await repository.lock_participant(session, s.id, user.id, create=False)
            assert again is not None
            view = _view(again, await repository.intervals_of(session, s.id, user.id), now)
    provider = providers_for(ctx.settings).get(s.provider)
    credential = provider.join_credential(
        Room(s.room_name, s.meeting_link),
        Joiner(user.id, user.username, moderator=user.id == s.created_by_id),
        now,
    )
    return JoinResult(s.provider, Room(s.room_name, s.meeting_link), view, credential)


async def _start_by_join(ctx: Context, m: Meeting, now: datetime) -> None:
    """The first join starts ``m`` (locked ``FOR NO KEY UPDATE``): ``meetings.meeting.started``
    comes before the joiner's ``meetings.participant.joined``, and names the joiner among the
    participants."""
    session, user = ctx.session, ctx.user
    transition(m, IN_PROGRESS, now)
    await session.flush()
    await session.refresh(m)
    people = await repository.participant_user_ids(session, m.id)
    if user.id not in people:  # not invited: a participant from this join on
        people.append(user.id)
    await events.meeting_started(session, m, user.id, people)


def _just_joined(p: repository.ParticipantState) -> ParticipantView:
    """A participant who has just joined: their closed stays so far, the new one at 0."""
    return ParticipantView(
        user_id=p.user_id,
        status=p.status,
        invited=p.invited,
        join_time=p.join_time,
        leave_time=p.leave_time,
        attended_minutes=minutes(p.attended_seconds),
    )


async def leave_meeting(ctx: Context, meeting_id: uuid.UUID) -> ParticipantView:
    session, user, now = ctx.session, ctx.user, ctx.now()
    await _load(ctx, meeting_id, "meeting.join")
    m = await _lock(ctx, meeting_id, "key_share")
    p = await repository.lock_participant(session, m.id, user.id, create=False)
    intervals = await repository.intervals_of(session, m.id, user.id) if p is not None else []
    if p is None or not intervals:
        raise Conflict("You have not joined this meeting.")
    opened = [i for i in intervals if i.left_at is None]
    if not opened:  # left already (a retry, or the meeting ended): unchanged
        return _view(p, intervals, now)
    for i in opened:
        i.left_at = max(now, i.joined_at)
    view = _apply_summary(p, intervals, now)
    await session.flush()
    await events.participant_left(
        session,
        m,
        user.id,
        min(i.joined_at for i in opened),
        now,
        view.attended_minutes,
        source="user",
    )
    return view


async def list_participants(
    ctx: Context, meeting_id: uuid.UUID, params: PageParams
) -> tuple[list[ParticipantView], str | None]:
    m = await _load(ctx, meeting_id, "meeting.read")
    rows, cursor = await repository.list_participants(ctx.session, m.id, params)
    return await _participant_views(ctx, rows), cursor


# ------------------------------------------------------------------------ provider webhooks


async def receive_webhook(
    ctx: Context, provider_name: str, body: bytes, authorization: str | None
) -> str:
    """Apply a provider webhook: ``applied``, ``duplicate`` (its event id was applied before)
    or ``ignored`` (nothing of ours). ``Unauthorized`` for a bad signature, before anything."""
    session = ctx.session
    provider = providers_for(ctx.settings).get(provider_name)
    event = provider.verify_webhook(body, authorization)
    if not await repository.record_webhook(session, provider.name, event.id, event.type, ctx.now()):
        return "duplicate"
    if event.kind == "ignored":
        return "ignored"
    m = await repository.get_by_room(session, provider.name, event.room_name)
    if m is None:
        return "ignored"
    # was the meeting over (nobody ended it) before this happened? judged at the event's own
    # time: webhooks arrive late, and what came after it may still be on its way
    due = await _due(ctx, m, min(ctx.now(), event.at))
    if due is not None:
        await _complete(ctx, m, due, ended_by="auto", actor_id=m.created_by_id)
    if event.kind == "room_finished":
        if m.status != IN_PROGRESS:
            return "ignored"
        await _complete(ctx, m, event.at, ended_by="provider", actor_id=m.created_by_id)
        return "applied"
    if event.kind == "recording_ready":
        if not event.recording_url or event.recording_url == m.recording_url:
            return "ignored"
        m.recording_url = event.recording_url
        await session.flush()
        await session.refresh(m)
        people = await repository.participant_user_ids(session, m.id)
        await events.meeting_updated(session, m, m.created_by_id, people, ["recording_url"])
        return "applied"
    if event.user_id is None or m.status == CANCELLED:
        return "ignored"
    return await _provider_presence(ctx, m, event)


async def _provider_presence(ctx: Context, m: Meeting, ev: ProviderEvent) -> str:
    """A participant_joined or participant_left of one connection (``ev.connection_id``).

    Each connection is one interval keyed by its id; its bounds only move by ``min``, so the
    joined and left of a connection give the same row whichever arrives first, and a late
    joined never reopens a connection that has left. A route join still open (the client asked
    ``/join`` and then connected) is the same stay: the provider's first word about it takes it
    over instead of opening a second one."""
    session, now = ctx.session, ctx.now()
    assert ev.user_id is not None
    joined_at = ev.joined_at or ev.at
    left_at = ev.at if ev.kind == "participant_left" else None
    if left_at is not None:
        joined_at = min(joined_at, left_at)
    if m.status == COMPLETED:
        assert m.ended_at is not None
        if joined_at >= m.ended_at:
            return "ignored"  # a connection after the end: not part of this meeting
    starting = m.status == SCHEDULED
    if starting:
        transition(m, IN_PROGRESS, joined_at)
    elif m.started_at is not None and joined_at < m.started_at:
        m.started_at = joined_at  # an earlier joined that came late: it started then
    p = await repository.lock_participant(session, m.id, ev.user_id, create=True)
    assert p is not None
    intervals = await repository.intervals_of(session, m.id, ev.user_id)
    had_any = bool(intervals)
    key = ev.connection_id
    stay = next((i for i in intervals if key is not None and i.source_key == key), None)
    if stay is None:
        stay = next((i for i in intervals if i.source_key is None and i.left_at is None), None)
        if stay is not None:
            stay.source_key = key
    created = stay is None
    if stay is None:
        stay = AttendanceInterval(
            meeting_id=m.id, user_id=ev.user_id, source_key=key, joined_at=joined_at
        )
        session.add(stay)
        intervals.append(stay)
    stay.joined_at = min(stay.joined_at, joined_at)
    closed = False
    if left_at is not None:
        if stay.left_at is None:
            closed = True
            stay.left_at = max(left_at, stay.joined_at)
        else:
            stay.left_at = max(min(stay.left_at, left_at), stay.joined_at)
    if m.status == COMPLETED:
        assert m.ended_at is not None
        if stay.left_at is None or stay.left_at > m.ended_at:
            closed = closed or stay.left_at is None
            stay.left_at = max(m.ended_at, stay.joined_at)
    view = _apply_summary(p, intervals, now)
    await session.flush()
    if starting:
        await session.refresh(m)
        people = await repository.participant_user_ids(session, m.id)
        await events.meeting_started(session, m, ev.user_id, people)
    if created:
        await events.participant_joined(
            session, m, ev.user_id, stay.joined_at, source="provider", first_join=not had_any
        )
    if closed:
        assert stay.left_at is not None
        await events.participant_left(
            session,
            m,
            ev.user_id,
            stay.joined_at,
            stay.left_at,
            view.attended_minutes,
            source="provider",
        )
    return "applied"


# ------------------------------------------------------------------------ teams


async def forget_team(ctx: Context, team_id: uuid.UUID) -> None:
    await repository.delete_team_meetings(ctx.session, team_id)
