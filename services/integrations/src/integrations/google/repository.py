"""All SQL of imported Google events and pushed calendar events."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.google.models import CalendarPush, GoogleEvent


async def upsert_events(
    session: AsyncSession, integration_id: uuid.UUID, rows: list[dict[str, Any]]
) -> list[GoogleEvent]:
    """Insert or update a page of events in one statement; the rows as stored."""
    if not rows:
        return []
    insert = pg_insert(GoogleEvent).values(
        [{"id": uuid.uuid4(), "integration_id": integration_id, **r} for r in rows]
    )
    stmt = insert.on_conflict_do_update(
        index_elements=["integration_id", "google_id"],
        set_={
            k: insert.excluded[k]
            for k in (
                "status",
                "title",
                "description",
                "location",
                "start_time",
                "end_time",
                "is_all_day",
                "google_updated",
                "calendar_event_id",
            )
        },
    ).returning(GoogleEvent)
    result = await session.execute(stmt, execution_options={"populate_existing": True})
    return list(result.scalars().all())


async def delete_events(
    session: AsyncSession, integration_id: uuid.UUID, google_ids: list[str]
) -> list[str]:
    if not google_ids:
        return []
    result = await session.execute(
        delete(GoogleEvent)
        .where(GoogleEvent.integration_id == integration_id, GoogleEvent.google_id.in_(google_ids))
        .returning(GoogleEvent.google_id)
    )
    return [r[0] for r in result.all()]


async def google_ids(session: AsyncSession, integration_id: uuid.UUID) -> set[str]:
    result = await session.execute(
        select(GoogleEvent.google_id).where(GoogleEvent.integration_id == integration_id)
    )
    return {r[0] for r in result.all()}


async def count(session: AsyncSession, integration_id: uuid.UUID) -> int:
    return len(await google_ids(session, integration_id))


async def get_push(
    session: AsyncSession, integration_id: uuid.UUID, calendar_event_id: uuid.UUID
) -> CalendarPush | None:
    return (
        await session.execute(
            select(CalendarPush).where(
                CalendarPush.integration_id == integration_id,
                CalendarPush.calendar_event_id == calendar_event_id,
            )
        )
    ).scalar_one_or_none()


async def add_push(session: AsyncSession, push: CalendarPush) -> None:
    session.add(push)
    await session.flush()


async def delete_push(session: AsyncSession, push: CalendarPush) -> None:
    await session.delete(push)
    await session.flush()
