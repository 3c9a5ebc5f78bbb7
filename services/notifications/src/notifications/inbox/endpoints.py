"""Routes of the inbox: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from notifications.inbox import service
from notifications.inbox.schemas import NotificationRead, ReadAll, ReadAllResult, UnreadCount
from notifications.kinds import Kind, NotificationType

router = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], responses=PROBLEM_RESPONSES
)


@router.get("", response_model=Page[NotificationRead])
async def list_notifications(
    ctx: ContextDep,
    page: PageDep,
    unread: Annotated[bool | None, Query(description="true: unread only; false: read only")] = None,
    team_id: Annotated[uuid.UUID | None, Query()] = None,
    type: Annotated[NotificationType | None, Query(description="notification_type")] = None,
    kind: Annotated[Kind | None, Query()] = None,
) -> Page[NotificationRead]:
    """The caller's delivered notifications, newest first."""
    rows, cursor = await service.list_notifications(
        ctx, page, unread=unread, team_id=team_id, notification_type=type, kind=kind
    )
    return Page[NotificationRead](
        items=[NotificationRead.model_validate(r) for r in rows], next_cursor=cursor
    )


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(ctx: ContextDep) -> UnreadCount:
    return UnreadCount(count=await service.unread_count(ctx))


@router.post("/read-all", response_model=ReadAllResult)
async def read_all(
    ctx: ContextDep, body: Annotated[ReadAll | None, Body()] = None
) -> ReadAllResult:
    """Mark every unread notification read (created at or before ``before``, if given)."""
    return ReadAllResult(marked_read=await service.mark_all_read(ctx, body))


@router.get("/{notification_id}", response_model=NotificationRead)
async def get_notification(notification_id: uuid.UUID, ctx: ContextDep) -> NotificationRead:
    return NotificationRead.model_validate(await service.get_notification(ctx, notification_id))


@router.post("/{notification_id}/read", response_model=NotificationRead)
async def read_notification(notification_id: uuid.UUID, ctx: ContextDep) -> NotificationRead:
    return NotificationRead.model_validate(await service.mark_read(ctx, notification_id))
