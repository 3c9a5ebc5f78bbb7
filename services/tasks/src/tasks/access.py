"""Who may do what in a team's boards: the shared membership projection (``vc_common.membership``)
with a read-through to teams on a miss. Members read everything and create content (tasks,
comments, subtasks, attachments); admins also manage boards, columns and labels.
Non-members get 404 for anything of the team, so nobody learns that it exists."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser
from vc_common.errors import Invalid
from vc_common.membership import (
    Membership,
    Role,
    TeamAdmin,
    TeamMember,
    lookup_membership,
    require_membership,
)

MEMBER = Role.MEMBER.value
ADMIN = Role.ADMIN.value

__all__ = ["ADMIN", "MEMBER", "TeamAdmin", "TeamMember", "authorize", "check_assignee", "is_admin"]


async def authorize(
    session: AsyncSession,
    request: Request,
    team_id: uuid.UUID,
    user: AuthUser,
    min_role: str = MEMBER,
) -> Membership:
    return await require_membership(session, request, team_id, user, min_role)


def is_admin(member: Membership) -> bool:
    return member.role.at_least(Role.ADMIN)


async def check_assignee(
    session: AsyncSession,
    request: Request,
    team_id: uuid.UUID,
    user: AuthUser,
    assignee_id: uuid.UUID | None,
    loc: list[str | int],
) -> None:
    """An assignee must be a member of the task's team: 422 otherwise."""
    if assignee_id is None or assignee_id == user.id:
        return  # the caller was just authorized as a member
    found = await lookup_membership(session, request, team_id, assignee_id, token=user.token)
    if found is None:
        raise Invalid("The assignee is not a member of this team.", loc=loc)
