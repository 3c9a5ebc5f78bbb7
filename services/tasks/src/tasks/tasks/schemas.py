from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tasks.attachments.schemas import AttachmentRead
from tasks.labels.schemas import LabelRead
from tasks.subtasks.schemas import SubtaskRead

Priority = Literal["low", "medium", "high", "urgent"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Description = Annotated[str, StringConstraints(max_length=20_000)]


class TaskCreate(BaseModel):
    title: Title
    description: Description = ""
    assignee_id: uuid.UUID | None = None
    priority: Priority = "medium"
    due_date: date | None = None
    label_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    position: int | None = Field(None, ge=0, description="Index in the column; default: last")


class TaskUpdate(BaseModel):
    """Every field optional; only the fields sent change. ``If-Match`` guards lost updates."""

    title: Title | None = None
    description: Description | None = None
    assignee_id: uuid.UUID | None = None
    priority: Priority | None = None
    due_date: date | None = None
    label_ids: list[uuid.UUID] | None = Field(None, max_length=50)


class TaskMove(BaseModel):
    column_id: uuid.UUID
    position: int = Field(
        ge=0, description="Index in the target column after the move; past the end means last"
    )


class TaskLabelsPut(BaseModel):
    label_ids: list[uuid.UUID] = Field(max_length=50)


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    column_id: uuid.UUID
    board_id: uuid.UUID
    team_id: uuid.UUID
    assignee_id: uuid.UUID | None
    priority: Priority
    due_date: date | None
    position: int
    is_completed: bool
    completed_at: datetime | None
    version: int
    created_by_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    labels: list[LabelRead]
    subtask_count: int
    subtasks_completed: int


class TaskDetail(TaskRead):
    subtasks: list[SubtaskRead]
    attachments: list[AttachmentRead]


class ActivityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    user_id: uuid.UUID | None = Field(description="Who acted; null for a change the system made")
    action: str
    changes: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """``GET /teams/{team_id}/tasks``: every given filter must hold (``q``: stripped, non-empty)."""

    assignee_id: uuid.UUID | None = None
    priority: Priority | None = None
    label_id: uuid.UUID | None = None
    due_before: date | None = None
    q: str | None = None
    board_id: uuid.UUID | None = None
    is_completed: bool | None = None
