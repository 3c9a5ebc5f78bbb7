"""All SQL of integrations and OAuth states."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.pagination import PageParams, paginate

from integrations.connections.models import Integration, OAuthState


async def add_state(session: AsyncSession, state: OAuthState) -> None:
    session.add(state)
    await session.flush()


async def take_state(
    session: AsyncSession, state_hash: str, integration_type: str, now: datetime
) -> OAuthState | None:
    """Consume a state: single use (``used_at`` set once, atomically), unexpired, of this type.
    A concurrent second use waits on the row and then finds it used."""
    row = (
        await session.execute(
            update(OAuthState)
            .where(
                OAuthState.state_hash == state_hash,
                OAuthState.integration_type == integration_type,
                OAuthState.used_at.is_(None),
                OAuthState.expires_at > now,
            )
            .values(used_at=now)
            .returning(OAuthState)
        )
    ).scalar_one_or_none()
    return row


async def purge_states(session: AsyncSession, now: datetime) -> int:
    """Forget states expired a day ago (a replay of one is refused either way)."""
    result = await session.execute(
        delete(OAuthState).where(OAuthState.expires_at < now - timedelta(days=1))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def get(
    session: AsyncSession, integration_id: uuid.UUID, *, lock: bool = False
) -> Integration | None:
    stmt = select(Integration).where(Integration.id == integration_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_by_type(
    session: AsyncSession, user_id: uuid.UUID, integration_type: str, *, lock: bool = False
) -> Integration | None:
    stmt = select(Integration).where(
        Integration.user_id == user_id, Integration.integration_type == integration_type
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_for_user(
    session: AsyncSession, user_id: uuid.UUID, params: PageParams
) -> tuple[list[Any], str | None]:
    return await paginate(
        session,
        select(Integration).where(Integration.user_id == user_id),
        params,
        keys=[Integration.id],
        convert=[uuid.UUID],
    )


async def active_of_type(
    session: AsyncSession, integration_type: str, user_ids: list[uuid.UUID] | None = None
) -> list[Integration]:
    stmt = select(Integration).where(
        Integration.integration_type == integration_type, Integration.is_active.is_(True)
    )
    if user_ids is not None:
        stmt = stmt.where(Integration.user_id.in_(user_ids))
    return list((await session.execute(stmt)).scalars().all())


async def claim_refresh_due(session: AsyncSession, now: datetime, limit: int) -> list[Integration]:
    """Integrations whose token is due for a refresh, each locked (``SKIP LOCKED``: a second
    replica takes others; a sync refreshing one in-line holds its lock, so one token is never
    refreshed twice at once)."""
    stmt = (
        select(Integration)
        .where(
            Integration.is_active.is_(True),
            Integration.refresh_token.is_not(None),
            Integration.refresh_due_at <= now,
        )
        .order_by(Integration.refresh_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def stale_ciphertexts(
    session: AsyncSession, after: uuid.UUID | None, limit: int
) -> list[Integration]:
    stmt = (
        select(Integration).order_by(Integration.id).limit(limit).with_for_update(skip_locked=True)
    )
    if after is not None:
        stmt = stmt.where(Integration.id > after)
    return list((await session.execute(stmt)).scalars().all())
