"""Rules about rooms: members read them, admins create, rename and delete them
(``chat.permissions``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from vc_common.context import Context
from vc_common.errors import Conflict, NotFound
from vc_common.pagination import PageParams, paginate

from chat import events
from chat.aftercommit import after_commit
from chat.models import Room
from chat.realtime.hub import Hub
from chat.rooms import repository as repo
from chat.rooms.schemas import RoomCreate, RoomUpdate


async def room_for(
    ctx: Context, room_id: uuid.UUID, action: str = "room.read", *, lock: bool = False
) -> Room:
    """The room if the caller may do ``action`` in it: 404 for a room that does not exist or
    whose team the caller is not in, 403 for a member the rule refuses."""
    room = await repo.get(ctx.session, room_id, lock=lock)
    if room is None:
        raise NotFound("Room not found.")
    await ctx.authorize(room.team_id, action, not_found="Room not found.")
    return room


async def list_rooms(
    ctx: Context, team_id: uuid.UUID, params: PageParams
) -> tuple[list[Room], str | None]:
    await ctx.authorize(team_id, "room.read")
    rows, cursor = await paginate(
        ctx.session,
        repo.list_stmt(team_id),
        params,
        keys=[Room.created_at, Room.id],
        convert=[datetime.fromisoformat, uuid.UUID],
    )
    return list(rows), cursor


async def create_room(ctx: Context, team_id: uuid.UUID, data: RoomCreate) -> Room:
    await ctx.authorize(team_id, "room.manage")
    session, user = ctx.session, ctx.user
    if await repo.name_taken(session, team_id, data.name):
        raise Conflict("A room with this name already exists in the team.")
    room = Room(name=data.name, team_id=team_id, created_by_id=user.id)
    session.add(room)
    await session.flush()
    await events.room_created(session, room, user.id)
    return room


async def update_room(ctx: Context, room_id: uuid.UUID, data: RoomUpdate) -> Room:
    room = await room_for(ctx, room_id, "room.manage", lock=True)
    changes: dict[str, Any] = {}
    new = data.model_dump(exclude_unset=True)
    if new.get("name") is not None and new["name"] != room.name:
        if await repo.name_taken(ctx.session, room.team_id, new["name"], exclude=room.id):
            raise Conflict("A room with this name already exists in the team.")
        changes["name"] = {"from": room.name, "to": new["name"]}
        room.name = new["name"]
    if changes:
        await ctx.session.flush()
        await events.room_updated(ctx.session, room, ctx.user.id, changes)
    return room


async def delete_room(ctx: Context, hub: Hub, room_id: uuid.UUID) -> None:
    room = await room_for(ctx, room_id, "room.manage", lock=True)
    await events.room_deleted(ctx.session, room, ctx.user.id)
    await repo.delete_room(ctx.session, room.id)

    async def close_sockets() -> None:
        await hub.announce_room_deleted(room.id)

    after_commit(ctx.session, close_sockets)


async def drop_team_rooms(ctx: Context, hub: Hub | None, team_id: uuid.UUID) -> None:
    """The team was deleted: its rooms (and their messages) go with it; open sockets close."""
    for room in await repo.team_rooms(ctx.session, team_id):
        await events.room_deleted(ctx.session, room, None, reason="team_deleted")
        await repo.delete_room(ctx.session, room.id)
    if hub is not None:

        async def close_sockets() -> None:
            await hub.announce_team_deleted(team_id)

        after_commit(ctx.session, close_sockets)
