from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_CONTENT = 4000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("A message cannot be blank.")
    return value


Content = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CONTENT,
        description="1 to 4,000 characters, not only whitespace",
    ),
    AfterValidator(_not_blank),
]


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Content


class MessageUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Content


class MessageRead(BaseModel):
    """A message. A deleted one is a tombstone: ``deleted_at`` set, ``content`` empty."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    room_id: uuid.UUID
    user_id: uuid.UUID
    content: str
    timestamp: datetime
    edited_at: datetime | None
    deleted_at: datetime | None


def message_json(message: Any) -> dict[str, Any]:
    return MessageRead.model_validate(message).model_dump(mode="json")
