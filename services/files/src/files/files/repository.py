"""All of files' SQL. Lock order, everywhere: a file's row, then its team's usage row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.pagination import PageParams, paginate

from files.models import AVATAR, DELETED, FILE, PENDING, STORED, File, TeamUsage


async def lock_usage(session: AsyncSession, team_id: uuid.UUID) -> TeamUsage:
    """The team's usage row, created at zero if need be, locked until the transaction ends."""
    await session.execute(
        pg_insert(TeamUsage).values(team_id=team_id, used_bytes=0).on_conflict_do_nothing()
    )
    return (
        await session.execute(
            select(TeamUsage)
            .where(TeamUsage.team_id == team_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def add_usage(session: AsyncSession, team_id: uuid.UUID, delta: int) -> None:
    if delta:
        await session.execute(
            update(TeamUsage)
            .where(TeamUsage.team_id == team_id)
            .values(used_bytes=TeamUsage.used_bytes + delta)
        )


async def usage(session: AsyncSession, team_id: uuid.UUID) -> int:
    used = (
        await session.execute(select(TeamUsage.used_bytes).where(TeamUsage.team_id == team_id))
    ).scalar_one_or_none()
    return int(used or 0)


async def forget_usage(session: AsyncSession, team_id: uuid.UUID) -> None:
    await session.execute(delete(TeamUsage).where(TeamUsage.team_id == team_id))


async def get(
    session: AsyncSession, file_id: uuid.UUID, *, kind: str = FILE, lock: bool = False
) -> File | None:
    """A stored file of this kind (deleted and pending ones are not there for users)."""
    stmt = select(File).where(File.id == file_id, File.kind == kind, File.state == STORED)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_pending(session: AsyncSession, file_id: uuid.UUID) -> File | None:
    return (
        await session.execute(
            select(File)
            .where(File.id == file_id, File.state == PENDING)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def drop_pending(session: AsyncSession, file_id: uuid.UUID) -> File | None:
    """Delete a pending row (an upload that failed); the row as it was, if it was there."""
    return (
        await session.execute(
            delete(File).where(File.id == file_id, File.state == PENDING).returning(File)
        )
    ).scalar_one_or_none()


async def team_page(
    session: AsyncSession, team_id: uuid.UUID, page: PageParams
) -> tuple[list[File], str | None]:
    """The team's stored files, newest first."""
    return await paginate(
        session,
        select(File).where(File.team_id == team_id, File.kind == FILE, File.state == STORED),
        page,
        keys=[File.id],
        descending=True,
        convert=[uuid.UUID],
    )


async def mark_team_deleted(
    session: AsyncSession, team_id: uuid.UUID, now: datetime
) -> Sequence[File]:
    """Every file of the team (stored or still uploading) marked for the sweeper."""
    return (
        (
            await session.execute(
                update(File)
                .where(File.team_id == team_id, File.state.in_([STORED, PENDING]))
                .values(state=DELETED, deleted_at=now, updated_at=now)
                .returning(File)
            )
        )
        .scalars()
        .all()
    )


async def current_avatars(session: AsyncSession, user_id: uuid.UUID) -> Sequence[File]:
    return (
        (
            await session.execute(
                select(File)
                .where(File.uploaded_by_id == user_id, File.kind == AVATAR, File.state == STORED)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )


async def claim_sweep(session: AsyncSession, stale_before: datetime, limit: int) -> Sequence[File]:
    """Rows whose bytes must go: deleted ones, and pending ones no upload can still finish
    (older than the upload timeout). Locked, skipping those another replica holds."""
    return (
        (
            await session.execute(
                select(File)
                .where(
                    or_(
                        File.state == DELETED,
                        (File.state == PENDING) & (File.created_at < stale_before),
                    )
                )
                .order_by(File.updated_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )


async def remove(session: AsyncSession, file_id: uuid.UUID) -> None:
    await session.execute(delete(File).where(File.id == file_id))
