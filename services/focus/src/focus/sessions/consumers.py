"""Focus data of a deleted team (``teams.team.deleted``, through the membership projection).

Sessions are their user's history, so they stay, detached from the team (and its tasks, whose
ids mean nothing any more); the team's goals and per-team stat rows go. The user's own day
totals (``team_id`` null) do not change.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.envelope import CloudEvent
from vc_common.membership import on_team_deleted

from focus.models import (
    DailyFocusGoal,
    FocusSession,
    FocusSessionDay,
    FocusStat,
    membership_tables,
)


@on_team_deleted(membership_tables)
async def forget_team(session: AsyncSession, team_id: uuid.UUID, event: CloudEvent) -> None:
    del event
    await session.execute(
        update(FocusSession)
        .where(FocusSession.team_id == team_id)
        .values(team_id=None, task_id=None)
    )
    await session.execute(
        update(FocusSessionDay).where(FocusSessionDay.team_id == team_id).values(team_id=None)
    )
    await session.execute(delete(DailyFocusGoal).where(DailyFocusGoal.team_id == team_id))
    await session.execute(delete(FocusStat).where(FocusStat.team_id == team_id))
