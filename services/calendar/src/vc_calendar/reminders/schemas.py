"""Bodies of the reminder routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ReminderType = Literal["email", "notification", "both"]


class ReminderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_type: ReminderType = "notification"
    minutes_before: int = Field(ge=0, le=40_320, description="0 to 40,320 (four weeks)")


class ReminderRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    reminder_type: ReminderType
    minutes_before: int
    sent: bool = Field(
        description="Fired (a series: fired for its last occurrence); see `sent_occurrences`"
    )
    sent_occurrences: list[datetime] = Field(
        description="Starts of the occurrences it fired for (the latest 100)"
    )
    next_occurrence_start: datetime | None
    next_fire_at: datetime | None
    created_by_id: uuid.UUID
    created_at: datetime
