"""Every rule about teams and memberships.

Who may do what comes from ``vc_common.membership.PERMISSIONS`` (the contract's matrix), and on
top of it the rules only teams has: an admin cannot touch an owner (nor make one), the last
owner can neither leave nor be demoted, outsiders get 404. Every change of a team's members
locks the team row first (``SELECT ... FOR UPDATE``), so concurrent demotions or departures of
the last owners are serialized and the owner count each one checks is true.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser
from vc_common.errors import Conflict, Forbidden, Invalid, NotFound
from vc_common.membership import Action, Role, can
from vc_common.pagination import PageParams

from teams.teams import events, repository
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
    session: AsyncSession, team_id: uuid.UUID, user: AuthUser, *, lock: bool = False
) -> tuple[Team, TeamMembership]:
    """The team and the caller's membership; 404 when either is missing (never leak a team)."""
    team = await repository.get_team(session, team_id, lock=lock)
    if team is None:
        raise NotFound(TEAM_NOT_FOUND)
    me = await repository.get_membership(session, team_id, user.id)
    if me is None:
        raise NotFound(TEAM_NOT_FOUND)
    return team, me


def _require(me: TeamMembership, action: Action, detail: str) -> None:
    if not can(me.role, action):
        raise Forbidden(detail)


# ---------------------------------------------------------------------------- teams


async def create_team(session: AsyncSession, user: AuthUser, data: TeamCreate) -> TeamView:
    team = Team(name=data.name, description=data.description, owner_id=user.id, member_seq=1)
    session.add(team)
    await session.flush()
    owner = TeamMembership(team_id=team.id, user_id=user.id, role=Role.OWNER.value)
    session.add(owner)
    await session.flush()
    await events.team_created(session, team, user.id)
    await events.member_added(session, owner, user.id, seq=1)
    return TeamView(team, Role.OWNER)


async def list_my_teams(
    session: AsyncSession, user: AuthUser, params: PageParams
) -> tuple[list[Any], str | None]:
    return await repository.list_my_teams(session, user.id, params)


async def get_team(session: AsyncSession, team_id: uuid.UUID, user: AuthUser) -> TeamView:
    team, me = await _access(session, team_id, user)
    return TeamView(team, Role(me.role))


async def update_team(
    session: AsyncSession, team_id: uuid.UUID, user: AuthUser, data: TeamUpdate
) -> TeamView:
    team, me = await _access(session, team_id, user, lock=True)
    _require(me, Action.UPDATE_TEAM, "Only an admin or an owner can change the team.")
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
    return TeamView(team, Role(me.role))


async def delete_team(session: AsyncSession, team_id: uuid.UUID, user: AuthUser) -> None:
    team, me = await _access(session, team_id, user, lock=True)
    _require(me, Action.DELETE_TEAM, "Only an owner can delete the team.")
    members = await repository.member_ids(session, team_id)
    await events.team_deleted(session, team, user.id, members)
    await repository.delete_team(session, team_id)


# ---------------------------------------------------------------------------- members


async def list_members(
    session: AsyncSession, team_id: uuid.UUID, user: AuthUser, params: PageParams
) -> tuple[list[Any], str | None]:
    await _access(session, team_id, user)
    return await repository.list_members(session, team_id, params)


async def get_member(
    session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID, user: AuthUser
) -> TeamMembership:
    await _access(session, team_id, user)
    member = await repository.get_membership(session, team_id, user_id)
    if member is None:
        raise NotFound("This user is not a member of the team.")
    return member


async def add_member(
    session: AsyncSession,
    identity: IdentityClient,
    team_id: uuid.UUID,
    user: AuthUser,
    data: MemberCreate,
) -> TeamMembership:
    _team, me = await _access(session, team_id, user, lock=True)
    _require(me, Action.MANAGE_MEMBERS, "Only an admin or an owner can add members.")
    if data.role == Role.OWNER:
        _require(me, Action.MANAGE_OWNERS, "Only an owner can make another owner.")
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
    session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID, user: AuthUser, role: Role
) -> TeamMembership:
    team, me = await _access(session, team_id, user, lock=True)
    _require(me, Action.MANAGE_MEMBERS, "Only an admin or an owner can change roles.")
    target = await repository.get_membership(session, team_id, user_id)
    if target is None:
        raise NotFound("This user is not a member of the team.")
    if Role.OWNER in (Role(target.role), role):
        _require(me, Action.MANAGE_OWNERS, "Only an owner can change an owner or make one.")
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


async def remove_member(
    session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID, user: AuthUser
) -> None:
    team, me = await _access(session, team_id, user, lock=True)
    target = await repository.get_membership(session, team_id, user_id)
    if user_id != user.id:  # removing someone else; leaving is open to every member
        _require(me, Action.MANAGE_MEMBERS, "Only an admin or an owner can remove members.")
        if target is None:
            raise NotFound("This user is not a member of the team.")
        if target.role == Role.OWNER:
            _require(me, Action.MANAGE_OWNERS, "Only an owner can remove an owner.")
    assert target is not None  # the caller is a member (checked by _access)
    if target.role == Role.OWNER and await repository.count_owners(session, team_id) <= 1:
        raise Conflict("The last owner cannot leave; transfer ownership or delete the team.")
    await repository.delete_membership(session, target)
    seq = await repository.next_seq(session, team_id)
    await events.member_removed(session, target, user.id, seq)
    if target.role == Role.OWNER:
        await _hand_over_owner_id(session, team, user_id, user.id)


async def transfer_ownership(
    session: AsyncSession, team_id: uuid.UUID, user: AuthUser, new_owner: uuid.UUID
) -> TeamView:
    """The new owner becomes ``owner`` and ``Team.owner_id``; the caller steps down to admin."""
    team, me = await _access(session, team_id, user, lock=True)
    _require(me, Action.TRANSFER_OWNERSHIP, "Only an owner can transfer ownership.")
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


async def internal_membership(
    session: AsyncSession, team_id: uuid.UUID, user_id: uuid.UUID, caller: AuthUser
) -> Any:
    """For other services' read-through: ``user_id``'s role and the team's seq. Answered only to
    that user or to a member of the team (as the public members list would); 404 otherwise."""
    if (
        caller.id != user_id
        and await repository.get_membership(session, team_id, caller.id) is None
    ):
        raise NotFound(TEAM_NOT_FOUND)
    row = await repository.get_membership_with_seq(session, team_id, user_id)
    if row is None:
        raise NotFound("Not a member of this team.")
    return row
