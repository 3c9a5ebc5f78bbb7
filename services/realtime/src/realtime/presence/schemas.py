from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

StatusName = Literal["in_meeting", "focusing", "busy", "online", "away", "offline"]


class MemberNowRead(BaseModel):
    user_id: uuid.UUID
    status: StatusName
    since: datetime
    until: datetime | None = Field(
        default=None, description="focusing: the session's planned end; busy: the event's end"
    )
    focus_type: str | None = None
    task_id: uuid.UUID | None = Field(
        default=None, description="focusing: the task of the session (this team's only)"
    )
    meeting_id: uuid.UUID | None = Field(default=None, description="in_meeting (this team's only)")


class TeamNowRead(BaseModel):
    team_id: uuid.UUID
    at: datetime
    members: list[MemberNowRead]


class PresenceEntry(BaseModel):
    user_id: uuid.UUID
    status: Literal["online"] = "online"


class TeamPresenceRead(BaseModel):
    """Chat's ``GET /teams/{id}/presence`` shape, answered from the one presence of the platform.

    ``items`` like every other list; ``online`` is the same list under its first name, kept for one
    version so that clients written against it keep working."""

    team_id: uuid.UUID
    items: list[PresenceEntry]
    online: list[PresenceEntry] = Field(
        deprecated=True, description="The same list as `items`; removed in the next version."
    )
