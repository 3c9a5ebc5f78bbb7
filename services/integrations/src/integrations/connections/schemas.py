"""Request and response bodies of the integration routes. No schema here has a token field:
an answer cannot carry one by construction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from integrations.providers.registry import IntegrationType

Status = Literal["connected", "needs_reconnect", "disconnected"]


class ConnectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    redirect_uri: AnyHttpUrl | None = Field(
        None,
        description="Where the provider sends the browser back (registered with the provider); "
        "default: this API's callback route",
    )


class ConnectRead(BaseModel):
    authorization_url: str
    state_expires_at: datetime


Repo = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class IntegrationConfig(BaseModel):
    """What the user chose for a connected integration (each type reads its own fields):
    github ``repository`` + ``board_id``; slack ``channel`` + ``team_id`` (the VirtualCoworking
    team whose tasks and meetings are announced); notion ``database_id`` + ``board_id``;
    google_calendar ``calendar_id`` (default ``primary``)."""

    model_config = ConfigDict(extra="forbid")

    repository: Repo | None = None
    board_id: uuid.UUID | None = None
    channel: Short | None = None
    team_id: uuid.UUID | None = None
    database_id: Short | None = None
    calendar_id: Short | None = None


class IntegrationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: IntegrationConfig | None = None


class IntegrationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    integration_type: IntegrationType
    is_active: bool
    status: Status
    expires_at: datetime | None
    last_sync: datetime | None
    scope: str | None
    account: dict[str, Any]
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
