from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

RoomName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class RoomCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: RoomName


class RoomUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: RoomName | None = None


class RoomRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    team_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    created_by_id: uuid.UUID | None
