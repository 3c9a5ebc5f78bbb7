"""CloudEvents 1.0 JSON envelope with the ``traceparent`` extension."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vc_common.ids import uuid7


class CloudEvent(BaseModel):
    """What travels on the bus. Consumers ignore fields they do not know (``extra="allow"``)."""

    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: uuid.UUID = Field(default_factory=uuid7)
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    traceparent: str | None = None
    data: dict[str, Any]

    @property
    def context(self) -> str:
        """``tasks`` for ``tasks.task.completed``."""
        return self.type.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", exclude_none=True)
        out["time"] = self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return out

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        # pydantic's own JSON parser: one pass instead of orjson.loads then validating the
        # dict (80-95 instead of 115-120 us an event on this machine, the same result)
        return cls.model_validate_json(raw)
