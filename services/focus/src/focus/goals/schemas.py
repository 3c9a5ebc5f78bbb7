from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class DailyFocusGoalUpsert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_hours: Decimal = Field(
        ge=0,
        le=24,
        max_digits=4,
        decimal_places=2,
        description="Hours of focus aimed at that day (0 to 24)",
    )
    team_id: uuid.UUID | None = Field(
        default=None, description="A team of the caller: the goal counts only focus for that team"
    )


class DailyFocusGoalRead(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    team_id: uuid.UUID | None
    date: date
    target_hours: float
    actual_hours: float = Field(
        description="Hours of ended focus sessions on that local day (of the team, if set)"
    )
    reached_at: datetime | None = Field(description="When actual_hours first met the target")
    created_at: datetime
    updated_at: datetime
