"""All SQL of the stream log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from realtime.models import StreamEntry, StreamState

# (seq, team, recipient, change, frame): what the fan-out carries and the hub dispatches
Item = tuple[int, str | None, str | None, dict[str, Any] | None, str]


def take_seqs(session: Session, n: int) -> int:
    """Reserve ``n`` seqs (sync: runs in ``before_commit``); the last one. The row lock
    serialises every writer until its commit, so committed seqs are dense and in commit order."""
    last = session.execute(
        update(StreamState)
        .where(StreamState.id == 1)
        .values(last_seq=StreamState.last_seq + n)
        .returning(StreamState.last_seq)
    ).scalar_one()
    return int(last)


def insert_entries(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(StreamEntry), rows)


async def last_seq(session: AsyncSession) -> int:
    value = (
        await session.execute(select(StreamState.last_seq).where(StreamState.id == 1))
    ).scalar_one_or_none()
    return int(value or 0)


def _item(e: StreamEntry) -> Item:
    return (
        e.seq,
        str(e.team_id) if e.team_id else None,
        str(e.recipient_id) if e.recipient_id else None,
        e.change,
        e.frame,
    )


async def between(session: AsyncSession, after: int, up_to: int | None, limit: int) -> list[Item]:
    """Entries with ``after < seq <= up_to``, in order (gap repair)."""
    stmt = select(StreamEntry).where(StreamEntry.seq > after)
    if up_to is not None:
        stmt = stmt.where(StreamEntry.seq <= up_to)
    rows = (await session.scalars(stmt.order_by(StreamEntry.seq).limit(limit))).all()
    return [_item(e) for e in rows]


async def position_of(session: AsyncSession, event_id: uuid.UUID) -> tuple[int, datetime] | None:
    row = (
        await session.execute(
            select(StreamEntry.seq, StreamEntry.created_at).where(StreamEntry.event_id == event_id)
        )
    ).first()
    return (int(row[0]), row[1]) if row is not None else None


async def for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    team_ids: Sequence[uuid.UUID],
    after: int,
    up_to: int,
    limit: int,
) -> list[Item]:
    """What ``user_id`` may have been sent in ``after < seq <= up_to``: entries of the teams they
    are or were in, addressed to them, or changing their membership (the caller walks them)."""
    who = [StreamEntry.recipient_id == user_id, StreamEntry.change["user"].astext == str(user_id)]
    if team_ids:
        who.append(StreamEntry.team_id.in_(list(team_ids)))
    stmt = (
        select(StreamEntry)
        .where(StreamEntry.seq > after, StreamEntry.seq <= up_to, or_(*who))
        .order_by(StreamEntry.seq)
        .limit(limit)
    )
    return [_item(e) for e in (await session.scalars(stmt)).all()]


async def purge(session: AsyncSession, before: datetime, limit: int) -> int:
    """Forget entries older than ``before`` (the resume window), ``limit`` at a time."""
    doomed = (
        select(StreamEntry.seq)
        .where(StreamEntry.created_at < before)
        .order_by(StreamEntry.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(delete(StreamEntry).where(StreamEntry.seq.in_(doomed)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
