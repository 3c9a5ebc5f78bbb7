from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

FileName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class FileRead(BaseModel):
    id: uuid.UUID
    name: str
    size: int = Field(description="bytes")
    content_type: str = Field(description="as the file is served (decided from its bytes)")
    file_url: str = Field(
        description="signed; works without an Authorization header until `file_url_expires_at`"
    )
    file_url_expires_at: datetime
    uploaded_by_id: uuid.UUID
    team_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    sha256: str


class FileUpdate(BaseModel):
    name: FileName | None = None
