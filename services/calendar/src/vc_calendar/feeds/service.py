"""The secret ICS feed of each user, and single events as iCalendar.

``POST /calendar/feed-token`` makes a new random token (256 bits, ``secrets``), keeps only its
SHA-256, and answers the token and its URL once; the previous token stops working at once. The
feed needs no bearer token: the token in its URL is the credential, so the gateway lets the path
through unauthenticated and this service checks the token. It holds what the user's range
queries show (their personal events, their teams' events, deadlines and meetings), series as
RRULE + EXDATE, from ``CALENDAR_FEED_PAST_DAYS`` ago on.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from vc_common.context import Context
from vc_common.errors import NotFound

from vc_calendar.calendar_events import repository as event_repo
from vc_calendar.calendar_events import service as event_service
from vc_calendar.feeds import ics
from vc_calendar.feeds import repository as repo
from vc_calendar.models import membership
from vc_calendar.sources import repository as sources

FEED_PATH = "/api/v1/calendar/feed.ics"


@dataclass(frozen=True, slots=True)
class FeedToken:
    token: str
    url: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_feed_token(ctx: Context, public_url: str) -> FeedToken:
    token = secrets.token_urlsafe(32)
    await repo.replace_token(ctx.session, ctx.user.id, _hash(token))
    return FeedToken(token, f"{public_url.rstrip('/')}{FEED_PATH}?token={token}")


async def feed(ctx: Context, token: str | None, past_days: int) -> bytes:
    session = ctx.session
    user_id: uuid.UUID | None = None
    if token and len(token) <= 200:
        user_id = await repo.user_of(session, _hash(token))
    if user_id is None:
        raise NotFound("No such feed (the token is unknown or was replaced).")
    now = ctx.now()
    since = now - timedelta(days=past_days)
    team_ids = await membership.team_ids_of(session, user_id)
    found = await event_repo.visible_events(session, user_id, team_ids, since, None)
    found.sort(key=lambda e: (e.start_time, e.id))
    attendees = await event_repo.attendees_by_event(session, [e.id for e in found])
    exdates = await event_repo.exdates_by_event(session, [e.id for e in found if e.recurrence])
    components = [
        ics.event_component(e, exdates.get(e.id, []), attendees.get(e.id, []), now) for e in found
    ]
    for d in await sources.open_deadlines_of_teams(session, team_ids, since.date()):
        components.append(ics.deadline_component(d, now))
    for m in await sources.meetings_of(session, user_id, team_ids, since, None):
        components.append(ics.meeting_component(m, now))
    return ics.render(ics.new_calendar("VirtualCoworking"), components)


async def event_ics(ctx: Context, event_id: uuid.UUID) -> bytes:
    view = await event_service.get_event(ctx, event_id)
    component = ics.event_component(view.event, view.exdates, view.attendee_ids, ctx.now())
    return ics.render(ics.new_calendar(), [component])
