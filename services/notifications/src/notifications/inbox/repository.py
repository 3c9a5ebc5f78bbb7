"""All SQL of the inbox. Only delivered in-app rows are the inbox (``delivered_at`` set,
``in_app``): a held notification is not there yet, a mail-only one never is."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.pagination import PageParams, paginate

from notifications.models import Notification


def _visible() -> ColumnElement[bool]:
    # spelt as the partial indexes' predicates (`in_app`, `NOT is_read`, never `IS true`), so
    # the planner proves they apply
    return and_(Notification.delivered_at.is_not(None), Notification.in_app)


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def list_for(
    session: AsyncSession,
    recipient_id: uuid.UUID,
    page: PageParams,
    *,
    unread: bool | None,
    team_id: uuid.UUID | None,
    notification_type: str | None,
    kind: str | None,
) -> tuple[list[Notification], str | None]:
    stmt = select(Notification).where(Notification.recipient_id == recipient_id, _visible())
    if unread is not None:
        stmt = stmt.where(not_(Notification.is_read) if unread else Notification.is_read)
    if team_id is not None:
        stmt = stmt.where(Notification.team_id == team_id)
    if notification_type is not None:
        stmt = stmt.where(Notification.notification_type == notification_type)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return await paginate(
        session,
        stmt,
        page,
        keys=[Notification.created_at, Notification.id],
        descending=True,
        convert=[_dt, uuid.UUID],
    )


async def unread_count(session: AsyncSession, recipient_id: uuid.UUID) -> int:
    # the predicate of ix_notifications_unread, spelt the same: an index-only count
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.recipient_id == recipient_id,
                    not_(Notification.is_read),
                    _visible(),
                )
            )
        ).scalar_one()
    )


async def get_visible(session: AsyncSession, notification_id: uuid.UUID) -> Notification | None:
    return (
        await session.execute(
            select(Notification).where(Notification.id == notification_id, _visible())
        )
    ).scalar_one_or_none()


async def mark_read(session: AsyncSession, n: Notification, now: datetime) -> None:
    """Read once: a second read keeps the first ``read_at``."""
    if n.is_read:
        return
    await session.execute(
        update(Notification)
        .where(Notification.id == n.id, Notification.is_read.is_(False))
        .values(is_read=True, read_at=now)
        .execution_options(synchronize_session=False)
    )
    n.is_read, n.read_at = True, now


async def mark_all_read(
    session: AsyncSession, recipient_id: uuid.UUID, now: datetime, before: datetime | None
) -> int:
    stmt = (
        update(Notification)
        .where(Notification.recipient_id == recipient_id, not_(Notification.is_read), _visible())
        .values(is_read=True, read_at=now)
        .execution_options(synchronize_session=False)
    )
    if before is not None:
        stmt = stmt.where(Notification.created_at <= before)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
