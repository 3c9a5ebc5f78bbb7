"""Preferences: each user reads and changes their own (there is no route to anyone else's)."""

from __future__ import annotations

from typing import Any

from vc_common.context import Context
from vc_common.timezones import DEFAULT_TIMEZONE

from notifications.delivery.rules import Prefs
from notifications.kinds import KINDS
from notifications.preferences import repository as repo
from notifications.preferences.schemas import (
    ChannelsRead,
    PreferencesRead,
    PreferencesUpdate,
    QuietHours,
)


def _read(prefs: Prefs, timezone: str | None) -> PreferencesRead:
    quiet = (
        QuietHours(start=prefs.quiet_start, end=prefs.quiet_end)
        if prefs.quiet_start is not None and prefs.quiet_end is not None
        else None
    )
    return PreferencesRead(
        channels={
            k: ChannelsRead(in_app=c.in_app, email=c.email)
            for k in KINDS
            for c in [prefs.channels_for(k)]
        },
        defer_during_focus=prefs.defer_during_focus,
        quiet_hours=quiet,
        timezone=timezone or DEFAULT_TIMEZONE,
    )


def _prefs(row: Any) -> Prefs:
    if row is None:
        return Prefs()
    return Prefs.from_row(
        row.channels, row.defer_during_focus, row.quiet_hours_start, row.quiet_hours_end
    )


async def get_preferences(ctx: Context) -> PreferencesRead:
    user = ctx.user
    await ctx.authorize(None, "preferences.manage", author_id=user.id)
    row = await repo.get(ctx.session, user.id)
    return _read(_prefs(row), await repo.timezone_of(ctx.session, user.id))


async def put_preferences(ctx: Context, body: PreferencesUpdate) -> PreferencesRead:
    user = ctx.user
    await ctx.authorize(None, "preferences.manage", author_id=user.id)
    row = await repo.get(ctx.session, user.id, lock=True)
    current = _prefs(row)
    changes = body.model_dump(exclude_unset=True)
    channels: dict[str, Any] = dict(row.channels) if row is not None else {}
    for kind, update in (body.channels or {}).items():
        given = update.model_dump(exclude_unset=True)
        now_ch = current.channels_for(kind)
        channels[kind] = {
            "in_app": given.get("in_app", now_ch.in_app),
            "email": given.get("email", now_ch.email),
        }
    quiet_start, quiet_end = current.quiet_start, current.quiet_end
    if "quiet_hours" in changes:
        q = body.quiet_hours
        quiet_start, quiet_end = (q.start, q.end) if q is not None else (None, None)
    defer = bool(changes.get("defer_during_focus", current.defer_during_focus))
    now = ctx.now()
    await repo.upsert(
        ctx.session,
        user.id,
        channels=channels,
        defer_during_focus=defer,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        now=now,
    )
    # notifications held under the old rules are judged again by the release job now
    await repo.rejudge_hold(ctx.session, user.id, now)
    updated = Prefs.from_row(channels, defer, quiet_start, quiet_end)
    return _read(updated, await repo.timezone_of(ctx.session, user.id))
