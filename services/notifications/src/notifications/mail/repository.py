"""All SQL of the mail queue."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.mail.render import Item
from notifications.models import EmailBatch, KnownUser, Notification


async def claim_due(session: AsyncSession, now: datetime) -> EmailBatch | None:
    """One due mail, locked until this transaction ends; another replica skips it."""
    return (
        await session.execute(
            select(EmailBatch)
            .where(EmailBatch.status == "pending", EmailBatch.send_after <= now)
            .order_by(EmailBatch.send_after)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()


async def items(session: AsyncSession, batch_id: uuid.UUID) -> list[Item]:
    """What the mail says: its notifications still unread (a notification read in the app
    meanwhile needs no mail; one that is mail-only is never read in the app)."""
    rows = await session.execute(
        select(Notification.title, Notification.message, Notification.link, Notification.created_at)
        .where(
            Notification.email_batch_id == batch_id,
            or_(Notification.is_read.is_(False), Notification.in_app.is_(False)),
        )
        .order_by(Notification.created_at, Notification.id)
    )
    return [Item(r[0], r[1], r[2], r[3]) for r in rows]


async def recipient(session: AsyncSession, user_id: uuid.UUID) -> KnownUser | None:
    return (
        await session.execute(select(KnownUser).where(KnownUser.user_id == user_id))
    ).scalar_one_or_none()


async def mark(session: AsyncSession, batch: EmailBatch, **values: object) -> None:
    await session.execute(update(EmailBatch).where(EmailBatch.id == batch.id).values(**values))
