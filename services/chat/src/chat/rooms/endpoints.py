from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from chat.deps import HubDep
from chat.models import Room
from chat.rooms import service
from chat.rooms.schemas import RoomCreate, RoomRead, RoomUpdate

router = APIRouter(tags=["rooms"], responses=PROBLEM_RESPONSES)


@router.post("/api/v1/teams/{team_id}/rooms", status_code=201, response_model=RoomRead)
async def create_room(
    team_id: uuid.UUID, body: RoomCreate, ctx: ContextDep, response: Response
) -> Room:
    room = await service.create_room(ctx, team_id, body)
    response.headers["Location"] = f"/api/v1/rooms/{room.id}"
    return room


@router.get("/api/v1/teams/{team_id}/rooms", response_model=Page[RoomRead])
async def list_rooms(team_id: uuid.UUID, ctx: ContextDep, page: PageDep) -> Page[RoomRead]:
    rows, cursor = await service.list_rooms(ctx, team_id, page)
    return Page[RoomRead](items=[RoomRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/api/v1/rooms/{room_id}", response_model=RoomRead)
async def get_room(room_id: uuid.UUID, ctx: ContextDep) -> Room:
    return await service.room_for(ctx, room_id)


@router.patch("/api/v1/rooms/{room_id}", response_model=RoomRead)
async def update_room(room_id: uuid.UUID, body: RoomUpdate, ctx: ContextDep) -> Room:
    return await service.update_room(ctx, room_id, body)


@router.delete("/api/v1/rooms/{room_id}", status_code=204)
async def delete_room(room_id: uuid.UUID, ctx: ContextDep, hub: HubDep) -> Response:
    await service.delete_room(ctx, hub, room_id)
    return Response(status_code=204)
