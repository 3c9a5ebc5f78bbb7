"""All SQL of GitHub links and webhook deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from integrations.connections.models import Integration
from integrations.github.models import GitHubDelivery, IssueLink


async def links_by_number(
    session: AsyncSession, integration_id: uuid.UUID, numbers: list[int]
) -> dict[int, IssueLink]:
    if not numbers:
        return {}
    rows = (
        await session.execute(
            select(IssueLink).where(
                IssueLink.integration_id == integration_id, IssueLink.issue_number.in_(numbers)
            )
        )
    ).scalars()
    return {r.issue_number: r for r in rows}


async def link_of_task(
    session: AsyncSession, task_id: uuid.UUID, *, lock: bool = False
) -> IssueLink | None:
    stmt = select(IssueLink).where(IssueLink.task_id == task_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_link(session: AsyncSession, link: IssueLink) -> None:
    session.add(link)
    await session.flush()


async def record_delivery(
    session: AsyncSession, delivery_id: str, event: str, now: datetime
) -> bool:
    """True the first time a delivery id is seen."""
    inserted = (
        await session.execute(
            pg_insert(GitHubDelivery)
            .values(delivery_id=delivery_id, event=event, received_at=now)
            .on_conflict_do_nothing(index_elements=["delivery_id"])
            .returning(GitHubDelivery.delivery_id)
        )
    ).scalar_one_or_none()
    return inserted is not None


async def purge_deliveries(session: AsyncSession, now: datetime) -> int:
    # GitHub redelivers for at most a few days; a week of ids is plenty
    result = await session.execute(
        delete(GitHubDelivery).where(GitHubDelivery.received_at < now - timedelta(days=7))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def integrations_of_repository(session: AsyncSession, full_name: str) -> list[Integration]:
    stmt = (
        select(Integration)
        .where(
            Integration.integration_type == "github",
            Integration.is_active.is_(True),
            Integration.config["repository"].astext.ilike(full_name),
        )
        .with_for_update()
    )
    return list((await session.execute(stmt)).scalars().all())
