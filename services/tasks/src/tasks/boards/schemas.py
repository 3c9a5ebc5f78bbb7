from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tasks.tasks.schemas import TaskRead

BoardName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ColumnName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class BoardCreate(BaseModel):
    name: BoardName


class BoardUpdate(BaseModel):
    name: BoardName | None = None


class BoardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    team_id: uuid.UUID
    created_by_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class ColumnCreate(BaseModel):
    name: ColumnName
    order: int | None = Field(
        None, ge=0, description="Index among the board's columns; default: last"
    )
    is_done: bool = False


class ColumnUpdate(BaseModel):
    name: ColumnName | None = None
    order: int | None = Field(None, ge=0)
    is_done: bool | None = None


class ColumnRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    board_id: uuid.UUID
    order: int
    is_done: bool
    created_at: datetime


class ColumnWithTasks(ColumnRead):
    tasks: list[TaskRead]


class BoardDetail(BoardRead):
    columns: list[ColumnWithTasks]
