from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

LabelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]


class LabelCreate(BaseModel):
    name: LabelName
    color: Color = Field(description="`#RRGGBB`")


class LabelUpdate(BaseModel):
    name: LabelName | None = None
    color: Color | None = None


class LabelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    color: str
    team_id: uuid.UUID
