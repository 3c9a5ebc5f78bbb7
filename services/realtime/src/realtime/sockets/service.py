"""What a socket does to the service's state, as functions of a :class:`Context` (the socket's
user is ``ctx.user``): open, close, activity, the memberships it starts with, and resume."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vc_common.context import Context

from realtime.presence import service as presence
from realtime.sockets import repository
from realtime.stream import repository as stream_repo
from realtime.stream.repository import Item
from realtime.teams_directory import TeamsDirectory


def uuid7_time(value: uuid.UUID) -> datetime | None:
    """The creation time a UUIDv7 carries (its first 48 bits, milliseconds), else None."""
    if value.version != 7:
        return None
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)


async def read_through_teams(ctx: Context, directory: TeamsDirectory | None) -> None:
    """Teams the caller is in that the projection does not know yet are read through (and
    cached with their seq) before the socket registers: a just-added member is not refused."""
    if directory is None:
        return
    listed = await directory.team_ids(ctx.user.token)
    if not listed:
        return
    known = await repository.membership_rows(ctx.session, ctx.user.id)
    for team_id in listed:
        if not known.get(team_id, (False, 0))[0]:
            await ctx.membership(team_id)


async def memberships(ctx: Context) -> dict[uuid.UUID, tuple[bool, int]]:
    return await repository.membership_rows(ctx.session, ctx.user.id)


async def opened(ctx: Context, socket_id: uuid.UUID, replica_id: uuid.UUID) -> None:
    await presence.socket_opened(ctx, socket_id, ctx.user.id, replica_id)


async def closed(ctx: Context, socket_id: uuid.UUID) -> None:
    await presence.socket_closed(ctx, socket_id)


async def activity(ctx: Context) -> None:
    await presence.activity(ctx, ctx.user.id)


@dataclass(frozen=True)
class ResumePoint:
    seq: int | None
    reason: str | None  # why the client must reload instead: unknown_event, too_old


async def resume_point(ctx: Context, event_id: uuid.UUID, window: float) -> ResumePoint:
    """Where ``event_id`` sits in the stream, or why a resume after it cannot be served."""
    oldest = ctx.now() - timedelta(seconds=window)
    found = await stream_repo.position_of(ctx.session, event_id)
    if found is None:
        # purged after the window, or never streamed: a UUIDv7 tells which it likely is
        born = uuid7_time(event_id)
        return ResumePoint(
            None, "too_old" if born is not None and born < oldest else "unknown_event"
        )
    seq, created_at = found
    if created_at < oldest:
        return ResumePoint(None, "too_old")
    return ResumePoint(seq, None)


async def missed(ctx: Context, after: int, up_to: int, limit: int) -> list[Item]:
    teams = list(await repository.membership_rows(ctx.session, ctx.user.id))
    return await stream_repo.for_user(ctx.session, ctx.user.id, teams, after, up_to, limit)
