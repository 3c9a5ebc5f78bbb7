"""The inbox's rules: a user sees and marks only their own delivered notifications."""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.errors import NotFound
from vc_common.pagination import PageParams

from notifications.inbox import repository as repo
from notifications.inbox.schemas import ReadAll
from notifications.models import Notification

NOT_FOUND = "Notification not found."


async def list_notifications(
    ctx: Context,
    page: PageParams,
    *,
    unread: bool | None = None,
    team_id: uuid.UUID | None = None,
    notification_type: str | None = None,
    kind: str | None = None,
) -> tuple[list[Notification], str | None]:
    return await repo.list_for(
        ctx.session,
        ctx.user.id,
        page,
        unread=unread,
        team_id=team_id,
        notification_type=notification_type,
        kind=kind,
    )


async def unread_count(ctx: Context) -> int:
    return await repo.unread_count(ctx.session, ctx.user.id)


async def _own(ctx: Context, notification_id: uuid.UUID) -> Notification:
    n = await repo.get_visible(ctx.session, notification_id)
    if n is None:
        raise NotFound(NOT_FOUND)
    await ctx.authorize(None, "notification.read", author_id=n.recipient_id, not_found=NOT_FOUND)
    return n


async def get_notification(ctx: Context, notification_id: uuid.UUID) -> Notification:
    return await _own(ctx, notification_id)


async def mark_read(ctx: Context, notification_id: uuid.UUID) -> Notification:
    n = await _own(ctx, notification_id)
    await repo.mark_read(ctx.session, n, ctx.now())
    return n


async def mark_all_read(ctx: Context, body: ReadAll | None) -> int:
    before = body.before if body is not None else None
    return await repo.mark_all_read(ctx.session, ctx.user.id, ctx.now(), before)
