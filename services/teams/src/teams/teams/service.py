"""Every rule about teams and memberships.

Who may do what comes from ``teams.permissions`` (the contract's matrix), checked by
``ctx.authorize``, and on top of it the rules only teams has: an admin cannot touch an owner
(nor make one), the last owner can neither leave nor be demoted, outsiders get 404. Every change
of a team's members locks the team row first (``SELECT ... FOR UPDATE``), so concurrent
demotions or departures of the last owners are serialized and the owner count each one checks
is true.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from teams_client import Role
from vc_common.context import Context
from vc_common.errors import Conflict, Invalid, NotFound
from vc_common.pagination import PageParams

from teams import events
from teams.teams import repository
from teams.teams.models import Team, TeamMembership
from teams.teams.schemas import MemberCreate, TeamCreate, TeamUpdate
from teams.users.client import IdentityClient
from teams.users.service import require_joinable_user

TEAM_NOT_FOUND = "Team not found."


@dataclass(frozen=True, slots=True)
class TeamView:
    team: Team
    my_role: Role


async def _access(
    ctx: Context, team_id: uuid.UUID, action: str, *, lock: bool = False
) -> tuple[Team, Role]:
    """The team (locked when asked) and the caller's role, if the caller may do ``action``;
    404 when the team is missing or the caller is not a member (never leak a team)."""
    team = await repository.get_team(ctx.session, team_id, lock=lock)
    if team is None:
        raise NotFound(TEAM_NOT_FOUND)
    me = await ctx.authorize(team_id, action, not_found=TEAM_NOT_FOUND)
    return team, Role(me.role)


# ---------------------------------------------------------------------------- teams


async def create_team(ctx: Context, data: TeamCreate) -> TeamView:
    session, user = ctx.session, ctx.user
    team = Team(name=data.name, description=data.description, owner_id=user.id, member_seq=1)
    session.add(team)
    await session.flush()
    owner = TeamMembership(team_id=team.id, user_id=user.id, role=Role.OWNER.value)
    session.add(owner)
    await session.flush()
    await events.team_created(session, team, user.id)
    await events.member_added(session, owner, user.id, seq=1)
    return TeamView(team, Role.OWNER)


async def list_my_teams(ctx: Context, params: PageParams) -> tuple[list[Any], str | None]:
    return await repository.list_my_teams(ctx.session, ctx.user.id, params)


async def get_team(ctx: Context, team_id: uuid.UUID) -> TeamView:
    team, role = await _access(ctx, team_id, "team.read")
    return TeamView(team, role)


async def update_team(ctx: Context, team_id: uuid.UUID, data: TeamUpdate) -> TeamView:
    session, user = ctx.session, ctx.user
    team, role = await _access(ctx, team_id, "team.update", lock=True)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Invalid("The name cannot be null.", loc=["body", "name"])
    if changes.get("description", "") is None:
        changes["description"] = ""
    changed = [k for k, v in changes.items() if getattr(team, k) != v]
    for key in changed:
        setattr(team, key, changes[key])
    if changed:
        await session.flush()
        await events.team_updated(session, team, user.id, changed)
    return TeamView(team, role)


async def delete_team(ctx: Context, team_id: uuid.UUID) -> None:
    session, user = ctx.session, ctx.user
    team, _ = await _access(ctx, team_id, "team.delete", lock=True)
    members = await repository.member_ids(session, team_id)
    await events.team_deleted(session, team, user.id, members)
    await repository.delete_team(session, team_id)


# ---------------------------------------------------------------------------- members


async def list_members(
    ctx: Context, team_id: uuid.UUID, params: PageParams
) -> tuple[list[Any], str | None]:
    await _access(ctx, team_id, "team.read")
    return await repository.list_members(ctx.session, team_id, params)


async def get_member(ctx: Context, team_id: uuid.UUID, user_id: uuid.UUID) -> TeamMembership:
    await _access(ctx, team_id, "team.read")
    member = await repository.get_membership(ctx.session, team_id, user_id)
    if member is None:
        raise NotFound("This user is not a member of the team.")
    return member


async def add_member(
    ctx: Context, identity: IdentityClient, team_id: uuid.UUID, data: MemberCreate
) -> TeamMembership:
    session, user = ctx.session, ctx.user
    await _access(ctx, team_id, "members.manage", lock=True)
    if data.role == Role.OWNER:
        await ctx.authorize(team_id, "owners.manage")
    if await repository.get_membership(session, team_id, data.user_id) is not None:
        raise Conflict("This user is already a member of the team.")
    await require_joinable_user(session, identity, data.user_id, token=user.token)
    member = TeamMembership(team_id=team_id, user_id=data.user_id, role=data.role.value)
    session.add(member)
    await session.flush()
    seq = await repository.next_seq(session, team_id)
    await events.member_added(session, member, user.id, seq)
    return member


async def _hand_over_owner_id(
    session: AsyncSession, team: Team, leaving: uuid.UUID, actor_id: uuid.UUID
) -> None:
    """``Team.owner_id`` names an owner; when that one stops being an owner, the
    longest-standing remaining owner takes it (there is one: the last owner cannot go)."""
    if team.owner_id != leaving:
        return
    successor = await repository.other_owner(session, team.id, leaving)
    if successor is None:  # pragma: no cover - guarded by the last-owner rule
        return
    team.owner_id = successor
    await session.flush()
    await events.team_updated(session, team, actor_id, ["owner_id"])


async def change_role(
    ctx: Context, team_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> TeamMembership:
    session, user = ctx.session, ctx.user
    team, _ = await _access(ctx, team_id, "members.manage", lock=True)
    target = await repository.get_membership(session, team_id, user_id)
    if target is None:
        raise NotFound("This user is not a member of the team.")
    if Role.OWNER in (Role(target.role), role):
        await ctx.authorize(team_id, "owners.manage")
    previous = Role(target.role)
    if previous == role:
        return target
    if previous == Role.OWNER and await repository.count_owners(session, team_id) <= 1:
        raise Conflict("The last owner cannot be demoted; make someone else owner first.")
    target.role = role.value
    await session.flush()
    seq = await repository.next_seq(session, team_id)
    await events.member_role_changed(session, target, previous.value, user.id, seq)
    if previous == Role.OWNER:
        await _hand_over_owner_id(session, team, user_id, user.id)
    return target


async def remove_member(ctx: Context, team_id: uuid.UUID, user_id: uuid.UUID) -> None:
    session, user = ctx.session, ctx.user
    leaving = user_id == user.id  # leaving is open to every member
    team, _ = await _access(ctx, team_id, "team.read" if leaving else "members.manage", lock=True)
    target = await repository.get_membership(session, team_id, user_id)
    if not leaving:
        if target is None:
            raise NotFound("This user is not a member of the team.")
        if target.role == Role.OWNER:
            await ctx.authorize(team_id, "owners.manage")
    assert target is not None  # the caller is a member (checked by _access)
    if target.role == Role.OWNER and await repository.count_owners(session, team_id) <= 1:
        raise Conflict("The last owner cannot leave; transfer ownership or delete the team.")
    await repository.delete_membership(session, target)
    seq = await repository.next_seq(session, team_id)
    await events.member_removed(session, target, user.id, seq)
    if target.role == Role.OWNER:
        await _hand_over_owner_id(session, team, user_id, user.id)


async def transfer_ownership(ctx: Context, team_id: uuid.UUID, new_owner: uuid.UUID) -> TeamView:
    """The new owner becomes ``owner`` and ``Team.owner_id``; the caller steps down to admin."""
    session, user = ctx.session, ctx.user
    team, _ = await _access(ctx, team_id, "ownership.transfer", lock=True)
    me = await repository.get_membership(session, team_id, user.id)
    assert me is not None  # authorized as an owner just now
    if new_owner == user.id:
        raise Invalid("You are already an owner of this team.", loc=["body", "user_id"])
    target = await repository.get_membership(session, team_id, new_owner)
    if target is None:
        raise Invalid("The new owner must be a member of the team.", loc=["body", "user_id"])
    if target.role != Role.OWNER:
        previous = target.role
        target.role = Role.OWNER.value
        await session.flush()
        seq = await repository.next_seq(session, team_id)
        await events.member_role_changed(session, target, previous, user.id, seq)
    me.role = Role.ADMIN.value
    await session.flush()
    seq = await repository.next_seq(session, team_id)
    await events.member_role_changed(session, me, Role.OWNER.value, user.id, seq)
    team.owner_id = new_owner
    await session.flush()
    await events.team_updated(session, team, user.id, ["owner_id"])
    return TeamView(team, Role.ADMIN)


async def internal_membership(ctx: Context, team_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """For other services' read-through: ``user_id``'s role and the team's seq. Answered only to
    that user or to a member of the team (as the public members list would); 404 otherwise."""
    session = ctx.session
    if ctx.user.id != user_id:
        await ctx.authorize(team_id, "team.read", not_found=TEAM_NOT_FOUND)
    row = await repository.get_membership_with_seq(session, team_id, user_id)
    if row is None:
        raise NotFound("Not a member of this team.")
    return row
