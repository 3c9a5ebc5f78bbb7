from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page

from chat.deps import HubDep, LimiterDep, PostsDep
from chat.messages import service
from chat.messages.schemas import MessageCreate, MessageRead, MessageUpdate
from chat.models import Message

router = APIRouter(tags=["messages"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/rooms/{room_id}/messages", response_model=Page[MessageRead])
async def list_messages(
    room_id: uuid.UUID,
    ctx: ContextDep,
    before: Annotated[
        uuid.UUID | None, Query(description="A message id: only older messages (newest first)")
    ] = None,
    cursor: Annotated[
        uuid.UUID | None, Query(description="`next_cursor` of the previous page (same as `before`)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[MessageRead]:
    rows, next_cursor = await service.history(ctx, room_id, before=before or cursor, limit=limit)
    return Page[MessageRead](
        items=[MessageRead.model_validate(m) for m in rows], next_cursor=next_cursor
    )


@router.post("/api/v1/rooms/{room_id}/messages", status_code=201, response_model=MessageRead)
async def post_message(
    room_id: uuid.UUID,
    body: MessageCreate,
    ctx: ContextDep,
    hub: HubDep,
    limiter: LimiterDep,
    posts: PostsDep,
    response: Response,
) -> Message:
    message = await service.post_message(ctx, hub, limiter, room_id, body.content, posts)
    response.headers["Location"] = f"/api/v1/messages/{message.id}"
    return message


@router.get("/api/v1/messages/{message_id}", response_model=MessageRead)
async def get_message(message_id: uuid.UUID, ctx: ContextDep) -> Message:
    return await service.get_message(ctx, message_id)


@router.patch("/api/v1/messages/{message_id}", response_model=MessageRead)
async def edit_message(
    message_id: uuid.UUID, body: MessageUpdate, ctx: ContextDep, hub: HubDep
) -> Message:
    return await service.edit_message(ctx, hub, message_id, body.content)


@router.delete("/api/v1/messages/{message_id}", status_code=204)
async def delete_message(message_id: uuid.UUID, ctx: ContextDep, hub: HubDep) -> Response:
    await service.delete_message(ctx, hub, message_id)
    return Response(status_code=204)
