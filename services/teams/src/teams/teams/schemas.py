"""Request and response bodies of the teams routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from teams_client import Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""


class TeamUpdate(BaseModel):
    """Every field optional; only the fields sent are applied."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None


class TeamRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    my_role: Role = Field(description="The caller's role in the team")


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    role: Role = Role.MEMBER


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    team_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    joined_at: datetime


class TransferOwnership(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID


class InternalMembership(BaseModel):
    """The internal read-through answer (``teams_client.TeamsClient``)."""

    team_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    seq: int = Field(description="The team's membership sequence this answer reflects")
    joined_at: datetime
