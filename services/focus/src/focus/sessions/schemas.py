from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FocusType = Literal["pomodoro", "deep_work", "custom"]


class FocusSessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    focus_type: FocusType
    duration_minutes: int | None = Field(
        default=None,
        ge=1,
        le=480,
        description="Planned minutes: required for `custom` (1 to 480); pomodoro is 25 and "
        "deep_work 90 (if given for those, it must be that value).",
    )
    team_id: uuid.UUID | None = Field(
        default=None, description="A team of the caller this focus is for (404 if not one)."
    )
    task_id: uuid.UUID | None = Field(
        default=None, description="The task this focus is for; needs `team_id` (the task's team)."
    )
    notes: str | None = Field(default=None, max_length=2000)


class FocusSessionStop(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(default=None, max_length=2000)


class FocusSessionRead(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    team_id: uuid.UUID | None
    task_id: uuid.UUID | None
    focus_type: FocusType
    start_time: datetime
    planned_end_time: datetime = Field(description="start_time + duration_minutes")
    end_time: datetime | None
    duration_minutes: int = Field(description="Planned minutes")
    actual_duration_minutes: int | None
    is_completed: bool
    interruptions: int
    notes: str | None
    timezone: str | None = Field(description="The zone its minutes were counted in (once ended)")
    minutes_by_day: dict[date, int] = Field(
        description="Minutes on each local day of the user (once ended)"
    )
    auto_ended: bool = Field(description="Ended by the service at its planned end")
    created_at: datetime


class FocusingNow(BaseModel):
    user_id: uuid.UUID
    focus_type: FocusType
    start_time: datetime
    planned_end_time: datetime
    duration_minutes: int
    session_id: uuid.UUID | None = Field(description="Only for a session of this team")
    task_id: uuid.UUID | None = Field(description="Only for a session of this team")


class FocusingNowList(BaseModel):
    team_id: uuid.UUID
    items: list[FocusingNow]


class UserTaskTime(BaseModel):
    user_id: uuid.UUID
    minutes: int
    sessions: int


class TaskTime(BaseModel):
    task_id: uuid.UUID
    total_minutes: int = Field(description="Minutes of the ended sessions for the task")
    sessions: int
    by_user: list[UserTaskTime]
