"""All SQL of teams and memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.pagination import PageParams, paginate

from teams.teams.models import Team, TeamMembership


async def get_team(session: AsyncSession, team_id: uuid.UUID, *, lock: bool = False) -> Team | None:
    stmt = select(Team).where(Team.id == team_id)
    if lock:
        # every membership change of a team is serialized on its row: owner counts stay true
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_membership(
    session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID
) -> TeamMembership | None:
    return (
        await session.execute(
            select(TeamMembership).where(
                TeamMembership.team_id == team_id, TeamMembership.user_id == user_id
            )
        )
    ).scalar_one_or_none()


async def get_membership_with_seq(
    session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID
) -> Any:
    """Role and the team's seq in one statement (one snapshot)."""
    return (
        await session.execute(
            select(
                TeamMembership.team_id,
                TeamMembership.user_id,
                TeamMembership.role,
                TeamMembership.joined_at,
                Team.member_seq.label("seq"),
            )
            .join(Team, Team.id == TeamMembership.team_id)
            .where(TeamMembership.team_id == team_id, TeamMembership.user_id == user_id)
        )
    ).first()


async def count_owners(session: AsyncSession, team_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(TeamMembership)
                .where(TeamMembership.team_id == team_id, TeamMembership.role == "owner")
            )
        ).scalar_one()
    )


async def other_owner(
    session: AsyncSession, team_id: uuid.UUID, not_user: uuid.UUID
) -> uuid.UUID | None:
    """The longest-standing owner other than ``not_user``."""
    return (
        await session.execute(
            select(TeamMembership.user_id)
            .where(
                TeamMembership.team_id == team_id,
                TeamMembership.role == "owner",
                TeamMembership.user_id != not_user,
            )
            .order_by(TeamMembership.joined_at, TeamMembership.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def next_seq(session: AsyncSession, team_id: uuid.UUID) -> int:
    """Bump the team's membership sequence (the caller holds the row lock); updated_at stays."""
    return int(
        (
            await session.execute(
                update(Team)
                .where(Team.id == team_id)
                .values(member_seq=Team.member_seq + 1, updated_at=Team.updated_at)
                .returning(Team.member_seq)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one()
    )


async def member_ids(session: AsyncSession, team_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (
            await session.execute(
                select(TeamMembership.user_id)
                .where(TeamMembership.team_id == team_id)
                .order_by(TeamMembership.joined_at, TeamMembership.id)
            )
        ).scalars()
    )


async def delete_membership(session: AsyncSession, membership: TeamMembership) -> None:
    await session.execute(delete(TeamMembership).where(TeamMembership.id == membership.id))


async def delete_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    await session.execute(delete(Team).where(Team.id == team_id))  # memberships cascade


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


async def list_my_teams(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams
) -> tuple[list[Any], str | None]:
    stmt: Select[Any] = (
        select(  # type: ignore[assignment]
            Team.id,
            Team.name,
            Team.description,
            Team.owner_id,
            Team.created_at,
            Team.updated_at,
            TeamMembership.role.label("my_role"),
        )
        .join(TeamMembership, TeamMembership.team_id == Team.id)
        .where(TeamMembership.user_id == user_id)
    )
    return await paginate(
        session, stmt, params, keys=[Team.created_at, Team.id], convert=[_dt, uuid.UUID]
    )


async def list_members(
    session: AsyncSession, team_id: uuid.UUID, params: PageParams
) -> tuple[list[Any], str | None]:
    stmt = select(TeamMembership).where(TeamMembership.team_id == team_id)
    return await paginate(
        session,
        stmt,
        params,
        keys=[TeamMembership.joined_at, TeamMembership.id],
        convert=[_dt, uuid.UUID],
    )
