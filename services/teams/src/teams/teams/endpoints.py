"""Routes of teams and members: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from teams.teams import service
from teams.teams.schemas import (
    InternalMembership,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    TransferOwnership,
)
from teams.users.client import IdentityClient

router = APIRouter(prefix="/api/v1/teams", tags=["teams"], responses=PROBLEM_RESPONSES)
internal_router = APIRouter(prefix="/internal/v1/teams", include_in_schema=False)


def _team(view: service.TeamView) -> TeamRead:
    t = view.team
    return TeamRead(
        id=t.id,
        name=t.name,
        description=t.description,
        owner_id=t.owner_id,
        created_at=t.created_at,
        updated_at=t.updated_at,
        my_role=view.my_role,
    )


async def _identity(request: Request) -> IdentityClient:
    client: IdentityClient = request.app.state.identity
    return client


IdentityDep = Annotated[IdentityClient, Depends(_identity)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TeamRead)
async def create_team(body: TeamCreate, ctx: ContextDep, response: Response) -> TeamRead:
    view = await service.create_team(ctx, body)
    response.headers["Location"] = f"/api/v1/teams/{view.team.id}"
    return _team(view)


@router.get("", response_model=Page[TeamRead])
async def list_teams(ctx: ContextDep, page: PageDep) -> Page[TeamRead]:
    """The caller's teams, each with the caller's role (``my_role``)."""
    rows, cursor = await service.list_my_teams(ctx, page)
    return Page[TeamRead](
        items=[TeamRead.model_validate(r, from_attributes=True) for r in rows], next_cursor=cursor
    )


@router.get("/{team_id}", response_model=TeamRead)
async def get_team(team_id: uuid.UUID, ctx: ContextDep) -> TeamRead:
    return _team(await service.get_team(ctx, team_id))


@router.patch("/{team_id}", response_model=TeamRead)
async def update_team(team_id: uuid.UUID, body: TeamUpdate, ctx: ContextDep) -> TeamRead:
    return _team(await service.update_team(ctx, team_id, body))


@router.delete("/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_team(team_id: uuid.UUID, ctx: ContextDep) -> Response:
    await service.delete_team(ctx, team_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{team_id}/members", response_model=Page[MemberRead])
async def list_members(team_id: uuid.UUID, ctx: ContextDep, page: PageDep) -> Page[MemberRead]:
    rows, cursor = await service.list_members(ctx, team_id, page)
    return Page[MemberRead](items=[MemberRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/{team_id}/members", status_code=status.HTTP_201_CREATED, response_model=MemberRead)
async def add_member(
    team_id: uuid.UUID,
    body: MemberCreate,
    ctx: ContextDep,
    identity: IdentityDep,
    response: Response,
) -> MemberRead:
    member = await service.add_member(ctx, identity, team_id, body)
    response.headers["Location"] = f"/api/v1/teams/{team_id}/members/{member.user_id}"
    return MemberRead.model_validate(member)


@router.get("/{team_id}/members/{user_id}", response_model=MemberRead)
async def get_member(team_id: uuid.UUID, user_id: uuid.UUID, ctx: ContextDep) -> MemberRead:
    return MemberRead.model_validate(await service.get_member(ctx, team_id, user_id))


@router.patch("/{team_id}/members/{user_id}", response_model=MemberRead)
async def change_member_role(
    team_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MemberUpdate,
    ctx: ContextDep,
) -> MemberRead:
    member = await service.change_role(ctx, team_id, user_id, body.role)
    return MemberRead.model_validate(member)


@router.delete("/{team_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(team_id: uuid.UUID, user_id: uuid.UUID, ctx: ContextDep) -> Response:
    """Admins remove members (an owner only by an owner); any member may remove themself."""
    await service.remove_member(ctx, team_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{team_id}/transfer-ownership", response_model=TeamRead)
async def transfer_ownership(
    team_id: uuid.UUID, body: TransferOwnership, ctx: ContextDep
) -> TeamRead:
    return _team(await service.transfer_ownership(ctx, team_id, body.user_id))


@internal_router.get("/{team_id}/members/{user_id}", response_model=InternalMembership)
async def internal_get_membership(team_id: uuid.UUID, user_id: uuid.UUID, ctx: ContextDep) -> Any:
    """Not routed by the gateway: other services' membership read-through."""
    row = await service.internal_membership(ctx, team_id, user_id)
    return InternalMembership.model_validate(row, from_attributes=True)
