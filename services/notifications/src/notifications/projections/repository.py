"""The SQL of the projections. Each write is guarded so a duplicate, a replay or an event
delivered late changes nothing it should not."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import String, any_, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import FocusSession, KnownTeam, KnownUser, table_of

U = table_of(KnownUser)


async def upsert_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    username: str | None,
    timezone: str | None,
    email: str | None,
    is_active: bool | None,
    time: datetime,
) -> None:
    """Overwrite what the event states (None: not stated, keep) unless a newer event did."""
    values = {"user_id": user_id, "source_time": time}
    if username is not None:
        values["username"] = username
    if timezone is not None:
        values["timezone"] = timezone
    if email is not None:
        values["email"] = email
    if is_active is not None:
        values["is_active"] = is_active
    stmt = pg_insert(U).values(**values)
    stated = {k: stmt.excluded[k] for k in values if k != "user_id"}
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[U.c.user_id],
            set_=stated,
            where=U.c.source_time <= stmt.excluded.source_time,
        )
    )


async def ids_by_username(session: AsyncSession, names: Collection[str]) -> dict[str, uuid.UUID]:
    """``lower(username) -> user id`` of the known users among ``names`` (compared lowercased:
    identity keeps usernames unique case-insensitively)."""
    if not names:
        return {}
    lowered = func.lower(KnownUser.username)
    rows = await session.execute(
        select(lowered, KnownUser.user_id).where(
            lowered == any_(bindparam(None, [n.lower() for n in names], type_=ARRAY(String)))
        )
    )
    return {r[0]: r[1] for r in rows}


async def focus_started(
    session: AsyncSession,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    start: datetime,
    planned_end: datetime,
) -> None:
    """A started session; a ``started`` arriving after its ``ended`` changes nothing."""
    await session.execute(
        pg_insert(FocusSession)
        .values(
            session_id=session_id, user_id=user_id, start_time=start, planned_end_time=planned_end
        )
        .on_conflict_do_nothing(index_elements=[FocusSession.session_id])
    )


async def focus_ended(
    session: AsyncSession,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    start: datetime,
    planned_end: datetime,
    ended_at: datetime,
) -> None:
    stmt = pg_insert(FocusSession).values(
        session_id=session_id,
        user_id=user_id,
        start_time=start,
        planned_end_time=planned_end,
        ended_at=ended_at,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[FocusSession.session_id], set_={"ended_at": stmt.excluded.ended_at}
        )
    )


async def forget_old_sessions(session: AsyncSession, user_id: uuid.UUID, before: datetime) -> None:
    """The user's sessions planned to end long ago say nothing any more."""
    await session.execute(
        delete(FocusSession).where(
            FocusSession.user_id == user_id, FocusSession.planned_end_time < before
        )
    )


async def set_team_name(session: AsyncSession, team_id: uuid.UUID, name: str) -> None:
    stmt = pg_insert(KnownTeam).values(team_id=team_id, name=name)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[KnownTeam.team_id], set_={"name": name})
    )


async def team_name(session: AsyncSession, team_id: uuid.UUID) -> str | None:
    return (
        await session.execute(select(KnownTeam.name).where(KnownTeam.team_id == team_id))
    ).scalar_one_or_none()


async def forget_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    await session.execute(delete(KnownTeam).where(KnownTeam.team_id == team_id))
