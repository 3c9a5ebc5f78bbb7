from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SubtaskCreate(BaseModel):
    title: Title
    is_completed: bool = False


class SubtaskUpdate(BaseModel):
    title: Title | None = None
    is_completed: bool | None = None


class SubtaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    title: str
    is_completed: bool
    created_at: datetime
    updated_at: datetime
