"""Rules about rooms: members read them, admins create, rename and delete them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser
from vc_common.errors import Conflict, NotFound
from vc_common.membership import Membership, Role, require_membership

from chat import events
from chat.aftercommit import after_commit
from chat.models import Room
from chat.realtime.hub import Hub
from chat.rooms import repository as repo
from chat.rooms.schemas import RoomCreate, RoomUpdate


async def room_for(
    session: AsyncSession,
    request: Any,
    room_id: uuid.UUID,
    user: AuthUser,
    min_role: Role | str = Role.MEMBER,
    *,
    lock: bool = False,
) -> tuple[Room, Membership]:
    """The room and the caller's membership of its team: 404 for a room that does not exist or
    whose team the caller is not in, 403 for a member below ``min_role``."""
    room = await repo.get(session, room_id, lock=lock)
    if room is None:
        raise NotFound("Room not found.")
    try:
        member = await require_membership(session, request, room.team_id, user, min_role)
    except NotFound:
        raise NotFound("Room not found.") from None
    return room, member


async def create_room(session: AsyncSession, member: Membership, data: RoomCreate) -> Room:
    if await repo.name_taken(session, member.team_id, data.name):
        raise Conflict("A room with this name already exists in the team.")
    room = Room(name=data.name, team_id=member.team_id, created_by_id=member.user_id)
    session.add(room)
    await session.flush()
    await events.room_created(session, room, member.user_id)
    return room


async def update_room(
    session: AsyncSession, request: Request, room_id: uuid.UUID, user: AuthUser, data: RoomUpdate
) -> Room:
    room, _ = await room_for(session, request, room_id, user, Role.ADMIN, lock=True)
    changes: dict[str, Any] = {}
    new = data.model_dump(exclude_unset=True)
    if new.get("name") is not None and new["name"] != room.name:
        if await repo.name_taken(session, room.team_id, new["name"], exclude=room.id):
            raise Conflict("A room with this name already exists in the team.")
        changes["name"] = {"from": room.name, "to": new["name"]}
        room.name = new["name"]
    if changes:
        await session.flush()
        await events.room_updated(session, room, user.id, changes)
    return room


async def delete_room(
    session: AsyncSession, request: Request, hub: Hub, room_id: uuid.UUID, user: AuthUser
) -> None:
    room, _ = await room_for(session, request, room_id, user, Role.ADMIN, lock=True)
    await events.room_deleted(session, room, user.id)
    await repo.delete_room(session, room.id)

    async def close_sockets() -> None:
        await hub.announce_room_deleted(room.id)

    after_commit(session, close_sockets)


async def drop_team_rooms(session: AsyncSession, hub: Hub | None, team_id: uuid.UUID) -> None:
    """The team was deleted: its rooms (and their messages) go with it; open sockets close."""
    for room in await repo.team_rooms(session, team_id):
        await events.room_deleted(session, room, None, reason="team_deleted")
        await repo.delete_room(session, room.id)
    if hub is not None:

        async def close_sockets() -> None:
            await hub.announce_team_deleted(team_id)

        after_commit(session, close_sockets)
