"""Daily totals (FocusStat) and goal actuals, kept exact as sessions end.

When a session ends, the days it touches (its local-day split and the day it ended) are
recomputed from the user's ended sessions, in the same transaction as the end and under a
per-user advisory lock: the rows are always what the sessions say, whatever order ends and
retries arrive in, and a session that ends only once (the row lock and ``end_time IS NULL``
guarantee that) is counted once. Recomputing costs one grouped query per affected day set,
bounded by the user's sessions on those days (a handful), so we do not need increments.
"""

from __future__ import annotations

import uuid
from datetime import date

from vc_common.context import Context
from vc_common.pagination import PageParams

from focus.goals.service import check_range, refresh_actuals
from focus.models import FocusSession, FocusStat
from focus.stats import repository


async def record_ended(ctx: Context, s: FocusSession, split: dict[date, int]) -> None:
    """Bring the stats and goals of the days ``s`` touched up to date (caller holds the user
    lock and has flushed ``s`` and its days)."""
    assert s.end_date is not None
    assert s.timezone is not None
    session = ctx.session
    dates = set(split) | {s.end_date}
    team_keys: list[uuid.UUID | None] = [None] if s.team_id is None else [None, s.team_id]
    totals: dict[tuple[uuid.UUID | None, date], int] = {}
    for team_id in team_keys:
        per_day = await repository.day_totals(session, s.user_id, team_id, dates)
        for day, t in sorted(per_day.items()):
            await repository.upsert(session, s.user_id, team_id, day, t)
            totals[(team_id, day)] = t.total_focus_minutes
    await refresh_actuals(ctx, s.user_id, totals, s.timezone)


async def list_stats(
    ctx: Context,
    params: PageParams,
    *,
    date_from: date | None,
    date_to: date | None,
    team_id: uuid.UUID | None,
) -> tuple[list[FocusStat], str | None]:
    check_range(date_from, date_to)
    return await repository.list_for_user(
        ctx.session, ctx.user.id, params, date_from=date_from, date_to=date_to, team_id=team_id
    )
