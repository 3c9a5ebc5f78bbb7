"""All SQL of sync logs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.ids import uuid7
from vc_common.pagination import PageParams, paginate

from integrations.connections.models import Integration
from integrations.syncs.models import SyncLog

RUNNING = text("status IN ('pending','in_progress')")


async def insert_pending(
    session: AsyncSession, integration_id: uuid.UUID, sync_type: str, trigger: str, now: datetime
) -> SyncLog | None:
    """A new pending log, or None when one is already pending or in progress (the partial
    unique index decides, so two racing requests cannot both start one)."""
    new_id = uuid7()
    inserted = (
        await session.execute(
            pg_insert(SyncLog)
            .values(
                id=new_id,
                integration_id=integration_id,
                sync_type=sync_type,
                trigger=trigger,
                status="pending",
                records_synced=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["integration_id"], index_where=RUNNING)
            .returning(SyncLog.id)
        )
    ).scalar_one_or_none()
    if inserted is None:
        return None
    return await get(session, new_id)


async def get(session: AsyncSession, log_id: uuid.UUID, *, lock: bool = False) -> SyncLog | None:
    stmt = select(SyncLog).where(SyncLog.id == log_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def running(session: AsyncSession, integration_id: uuid.UUID) -> SyncLog | None:
    return (
        await session.execute(
            select(SyncLog).where(SyncLog.integration_id == integration_id, RUNNING)
        )
    ).scalar_one_or_none()


async def claim_pending(session: AsyncSession, limit: int) -> list[SyncLog]:
    stmt = (
        select(SyncLog)
        .where(SyncLog.status == "pending")
        .order_by(SyncLog.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def claim_abandoned(session: AsyncSession, now: datetime, limit: int) -> list[SyncLog]:
    """In-progress logs whose lease passed and whose runner holds no lock on them (a live
    runner keeps its log locked while it works; a crashed one's lock died with its
    connection)."""
    stmt = (
        select(SyncLog)
        .where(SyncLog.status == "in_progress", SyncLog.lease_until < now)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def list_for_integration(
    session: AsyncSession, integration_id: uuid.UUID, params: PageParams
) -> tuple[list[Any], str | None]:
    return await paginate(
        session,
        select(SyncLog).where(SyncLog.integration_id == integration_id),
        params,
        keys=[SyncLog.id],
        descending=True,
        convert=[uuid.UUID],
    )


async def cancel_pending(
    session: AsyncSession, integration_id: uuid.UUID, now: datetime, reason: str
) -> None:
    await session.execute(
        update(SyncLog)
        .where(SyncLog.integration_id == integration_id, SyncLog.status == "pending")
        .values(status="failed", completed_at=now, error_message=reason)
    )


async def claim_scheduled(session: AsyncSession, now: datetime, limit: int) -> list[Integration]:
    stmt = (
        select(Integration)
        .where(Integration.is_active.is_(True), Integration.next_sync_at <= now)
        .order_by(Integration.next_sync_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars().all())
