"""What teams publishes, through its outbox in the transaction of the change.

Schemas: ``contracts/events/teams.*.v1.json``. The subject is always the team id, so every event
of one team is delivered in order. In ``data``, as the contract says of every event, ``user_id``
is the acting user; ``actor_id`` repeats it (kept for consumers written before ``member_id``).
``teams.member.*`` also carry ``member_id``, the member concerned (added, whose role changed,
removed or who left; equal to ``user_id`` when members act on themselves), and ``seq``: the team's
membership sequence after the change, for projections (``teams_client.MembershipProjection``) to
apply changes in order and ignore stale replays.

Compatibility: ``teams.member.*`` events produced before ``member_id`` existed carried the member
in ``user_id``; consumers read the member with :func:`teams_client.events.member_of`, which falls
back to ``user_id`` when ``member_id`` is absent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from teams_client.events import (
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MEMBER_ROLE_CHANGED,
    TEAM_CREATED,
    TEAM_DELETED,
    TEAM_UPDATED,
)
from vc_common.events.outbox import add_event

from teams.models import event_tables
from teams.teams.models import Team, TeamMembership

SOURCE = "teams"


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _member(m: TeamMembership, actor_id: uuid.UUID) -> dict[str, Any]:
    """The ids of a ``teams.member.*`` event: who acted (``user_id``) and on whom."""
    return {
        "team_id": str(m.team_id),
        "user_id": str(actor_id),
        "actor_id": str(actor_id),
        "member_id": str(m.user_id),
    }


def _team(team: Team) -> dict[str, Any]:
    return {
        "team_id": str(team.id),
        "name": team.name,
        "description": team.description,
        "owner_id": str(team.owner_id),
    }


async def _emit(
    session: AsyncSession, type_: str, team_id: uuid.UUID, data: dict[str, Any]
) -> None:
    await add_event(session, event_tables, source=SOURCE, type=type_, subject=team_id, data=data)


async def team_created(session: AsyncSession, team: Team, actor_id: uuid.UUID) -> None:
    await _emit(
        session,
        TEAM_CREATED,
        team.id,
        {
            **_team(team),
            "user_id": str(actor_id),
            "actor_id": str(actor_id),
            "created_at": _ts(team.created_at),
        },
    )


async def team_updated(
    session: AsyncSession, team: Team, actor_id: uuid.UUID, changed: list[str]
) -> None:
    await _emit(
        session,
        TEAM_UPDATED,
        team.id,
        {
            **_team(team),
            "user_id": str(actor_id),
            "actor_id": str(actor_id),
            "changed_fields": changed,
        },
    )


async def team_deleted(
    session: AsyncSession, team: Team, actor_id: uuid.UUID, member_ids: list[uuid.UUID]
) -> None:
    await _emit(
        session,
        TEAM_DELETED,
        team.id,
        {
            "team_id": str(team.id),
            "name": team.name,
            "user_id": str(actor_id),
            "actor_id": str(actor_id),
            "member_ids": [str(m) for m in member_ids],
        },
    )


async def member_added(
    session: AsyncSession, m: TeamMembership, actor_id: uuid.UUID, seq: int
) -> None:
    await _emit(
        session,
        MEMBER_ADDED,
        m.team_id,
        {
            **_member(m, actor_id),
            "role": m.role,
            "seq": seq,
            "joined_at": _ts(m.joined_at),
        },
    )


async def member_role_changed(
    session: AsyncSession, m: TeamMembership, previous: str, actor_id: uuid.UUID, seq: int
) -> None:
    await _emit(
        session,
        MEMBER_ROLE_CHANGED,
        m.team_id,
        {
            **_member(m, actor_id),
            "role": m.role,
            "previous_role": previous,
            "seq": seq,
        },
    )


async def member_removed(
    session: AsyncSession, m: TeamMembership, actor_id: uuid.UUID, seq: int
) -> None:
    await _emit(
        session,
        MEMBER_REMOVED,
        m.team_id,
        {
            **_member(m, actor_id),
            "role": m.role,
            "seq": seq,
            "reason": "left" if m.user_id == actor_id else "removed",
        },
    )
