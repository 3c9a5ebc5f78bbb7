"""Bodies of the sync routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SyncCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sync_type: str | None = Field(
        None,
        max_length=40,
        description="google_calendar: incremental (default) or full; github: issues; slack: "
        "channel_check; notion: export; zoom, microsoft_teams: account_check",
    )


class SyncLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    integration_id: uuid.UUID
    sync_type: str
    trigger: str
    status: Literal["pending", "in_progress", "completed", "failed"]
    started_at: datetime | None
    completed_at: datetime | None
    records_synced: int
    error_message: str | None
    created_at: datetime
