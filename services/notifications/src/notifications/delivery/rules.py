"""The delivery rules, as pure functions of what is known (no SQL, no clock of their own).

- **Channels**: the user's preference for the kind (defaults in :mod:`notifications.kinds`),
  and what the source allows (a calendar reminder's ``reminder_type``); nothing when both are off.
- **Holds**: an ``info`` or ``success`` notification that is not urgent waits while its user
  focuses (``defer_during_focus``, default on: a running focus session until its planned end
  plus grace, the moment focus itself would end it) or is in their quiet hours (local time of
  their profile timezone). ``warning``, ``error`` and urgent ones (something starting within
  ``urgent_within``) always go through.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from vc_common.timezones import DEFAULT_TIMEZONE, is_valid_timezone

from notifications.kinds import ANY_CHANNEL, DEFAULT_CHANNELS, HOLDABLE_TYPES, Channels

FOCUS = "focus"
QUIET_HOURS = "quiet_hours"


@dataclass(frozen=True, slots=True)
class Policy:
    grace: timedelta = timedelta(minutes=5)
    urgent_within: timedelta = timedelta(minutes=15)
    email_window: timedelta = timedelta(minutes=2)
    mail_max_attempts: int = 8

    @classmethod
    def of(cls, settings: Any) -> Policy:
        if settings is None:
            return cls()
        return cls(
            grace=timedelta(minutes=settings.notifications_focus_grace_minutes),
            urgent_within=timedelta(minutes=settings.notifications_urgent_within_minutes),
            email_window=timedelta(seconds=settings.notifications_email_batch_seconds),
            mail_max_attempts=settings.notifications_mail_max_attempts,
        )


@dataclass(frozen=True, slots=True)
class Prefs:
    channels: dict[str, Channels] = field(default_factory=dict)  # only what the user changed
    defer_during_focus: bool = True
    quiet_start: time | None = None
    quiet_end: time | None = None

    def channels_for(self, kind: str) -> Channels:
        return self.channels.get(kind) or DEFAULT_CHANNELS.get(kind) or Channels(True, False)

    @classmethod
    def from_row(
        cls,
        channels: dict[str, Any] | None,
        defer_during_focus: bool,
        quiet_start: time | None,
        quiet_end: time | None,
    ) -> Prefs:
        parsed = {}
        for kind, ch in (channels or {}).items():
            base = DEFAULT_CHANNELS.get(kind, Channels(True, False))
            parsed[kind] = Channels(
                in_app=bool(ch.get("in_app", base.in_app)), email=bool(ch.get("email", base.email))
            )
        return cls(parsed, defer_during_focus, quiet_start, quiet_end)


DEFAULT_PREFS = Prefs()


@dataclass(slots=True)
class Draft:
    """What an event means for one user, before the rules decide how it travels.

    ``message`` is prefixed with the actor's username when ``name_actor`` (resolved in bulk when
    the drafts are delivered): ``"alice" + " assigned you …"``.
    """

    recipient_id: uuid.UUID
    kind: str
    title: str
    message: str
    created_at: datetime
    notification_type: str = "info"
    team_id: uuid.UUID | None = None
    link: str | None = None
    actor_id: uuid.UUID | None = None
    name_actor: bool = False
    source_event_id: uuid.UUID | None = None
    urgent: bool = False
    allowed: Channels = ANY_CHANNEL


def quiet_until(prefs: Prefs, timezone: str | None, now: datetime) -> datetime | None:
    """The end (UTC) of the quiet hours ``now`` falls in, or None outside them.

    ``quiet_start``/``quiet_end`` are local wall-clock times in the user's zone; a window whose
    end is before its start spans midnight (22:00 to 07:00).
    """
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(timezone if timezone and is_valid_timezone(timezone) else DEFAULT_TIMEZONE)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    day: date = local.date()
    if start < end:
        if not start <= t < end:
            return None
    elif t >= start:
        day += timedelta(days=1)
    elif not t < end:
        return None
    until = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    return until if until > now else None


def hold_state(
    prefs: Prefs, timezone: str | None, focus_until: datetime | None, now: datetime
) -> tuple[str, datetime] | None:
    """Whether the user's holdable notifications wait now: (reason, when to look again)."""
    focusing = prefs.defer_during_focus and focus_until is not None and focus_until > now
    quiet = quiet_until(prefs, timezone, now)
    if focusing:
        assert focus_until is not None
        return FOCUS, min(focus_until, quiet) if quiet else focus_until
    if quiet is not None:
        return QUIET_HOURS, quiet
    return None


def hold_for(
    draft: Draft,
    prefs: Prefs,
    timezone: str | None,
    focus_until: datetime | None,
    now: datetime,
) -> tuple[str, datetime] | None:
    if draft.urgent or draft.notification_type not in HOLDABLE_TYPES:
        return None
    return hold_state(prefs, timezone, focus_until, now)


def starts_soon(start: datetime | None, now: datetime, policy: Policy) -> bool:
    """Something starting within ``urgent_within`` (or already started) is urgent."""
    return start is not None and start - now <= policy.urgent_within


def email_backoff(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 ... minutes, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))
