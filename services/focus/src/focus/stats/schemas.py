from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field


class FocusStatRead(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    team_id: uuid.UUID | None = Field(
        description="null: all the user's focus that day; a team: only sessions for that team"
    )
    date: date
    total_focus_minutes: int = Field(description="Minutes of ended sessions on this local day")
    completed_sessions: int = Field(description="Sessions completed (ended on this day)")
    avg_session_duration: float = Field(
        description="Mean actual minutes of the sessions that ended on this day"
    )
    interruptions: int = Field(description="Interruptions of the sessions that ended this day")
    created_at: datetime
    updated_at: datetime
