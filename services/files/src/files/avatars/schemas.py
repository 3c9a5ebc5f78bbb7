from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class AvatarRead(BaseModel):
    avatar: str = Field(description="the profile's new `avatar`: a public URL of the thumbnail")
    file_id: uuid.UUID
    size: int
    content_type: str
    width: int
    height: int
