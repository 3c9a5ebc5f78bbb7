"""The inbox's shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from notifications.kinds import NotificationType


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    message: str
    notification_type: NotificationType
    team_id: uuid.UUID | None
    is_read: bool
    created_at: datetime
    read_at: datetime | None
    kind: str = Field(
        description="what caused it, e.g. `task.assigned`; `digest` for the summary of a hold"
    )
    link: str | None = Field(description="the API path of the thing it is about")
    delivered_at: datetime | None = Field(
        description="when it reached the inbox (later than `created_at` when it was held)"
    )


class UnreadCount(BaseModel):
    count: int


class ReadAll(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: datetime | None = Field(
        default=None, description="only notifications created at or before this instant"
    )


class ReadAllResult(BaseModel):
    marked_read: int
