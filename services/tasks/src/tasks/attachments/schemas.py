from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2048, pattern=r"^https?://\S+$")
]
Filename = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class AttachmentCreate(BaseModel):
    """A team file (``file_id``, from the files service), or an external link (``file_url`` and
    ``filename``)."""

    file_id: uuid.UUID | None = None
    file_url: Url | None = None
    filename: Filename | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> AttachmentCreate:
        if self.file_id is None and (self.file_url is None or self.filename is None):
            raise ValueError("give `file_id` (a team file), or `file_url` and `filename`")
        return self


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    file_id: uuid.UUID | None = None
    file_url: str
    filename: str
    uploaded_by_id: uuid.UUID
    created_at: datetime
