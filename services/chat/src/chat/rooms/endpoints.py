from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from vc_common.auth import CurrentUser
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.membership import Membership, TeamMember, team_member
from vc_common.pagination import Page, PageDep, paginate
from vc_common.uow import SessionDep

from chat.models import Room
from chat.realtime.deps import HubDep
from chat.rooms import repository as repo
from chat.rooms import service
from chat.rooms.schemas import RoomCreate, RoomRead, RoomUpdate

router = APIRouter(tags=["rooms"], responses=PROBLEM_RESPONSES)

TeamAdmin = Annotated[Membership, Depends(team_member("admin"))]


def _convert() -> list[Callable[[Any], Any]]:
    from datetime import datetime

    return [datetime.fromisoformat, uuid.UUID]


@router.post("/api/v1/teams/{team_id}/rooms", status_code=201, response_model=RoomRead)
async def create_room(
    team_id: uuid.UUID, body: RoomCreate, member: TeamAdmin, session: SessionDep, response: Response
) -> Room:
    del team_id
    room = await service.create_room(session, member, body)
    response.headers["Location"] = f"/api/v1/rooms/{room.id}"
    return room


@router.get("/api/v1/teams/{team_id}/rooms", response_model=Page[RoomRead])
async def list_rooms(
    team_id: uuid.UUID, member: TeamMember, session: SessionDep, page: PageDep
) -> Page[RoomRead]:
    del member
    rows, cursor = await paginate(
        session, repo.list_stmt(team_id), page, keys=[Room.created_at, Room.id], convert=_convert()
    )
    return Page[RoomRead](items=[RoomRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/api/v1/rooms/{room_id}", response_model=RoomRead)
async def get_room(
    room_id: uuid.UUID, request: Request, user: CurrentUser, session: SessionDep
) -> Room:
    room, _ = await service.room_for(session, request, room_id, user)
    return room


@router.patch("/api/v1/rooms/{room_id}", response_model=RoomRead)
async def update_room(
    room_id: uuid.UUID, body: RoomUpdate, request: Request, user: CurrentUser, session: SessionDep
) -> Room:
    return await service.update_room(session, request, room_id, user, body)


@router.delete("/api/v1/rooms/{room_id}", status_code=204)
async def delete_room(
    room_id: uuid.UUID, request: Request, user: CurrentUser, session: SessionDep, hub: HubDep
) -> Response:
    await service.delete_room(session, request, hub, room_id, user)
    return Response(status_code=204)
