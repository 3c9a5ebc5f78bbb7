"""Request and answer bodies of meetings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MeetingStatus = Literal["scheduled", "in_progress", "completed", "cancelled"]
ParticipantStatus = Literal["invited", "joined", "left"]


def _utc(value: datetime) -> datetime:
    """RFC 3339 with an offset; a timestamp without one is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_utc)]


class MeetingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    start_time: Instant
    end_time: Instant = Field(description="After `start_time` (422 otherwise)")
    participant_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=500,
        description="Members of the team to invite (422 for anyone else); the creator is "
        "always a participant.",
    )
    provider: Literal["zoom", "microsoft_teams"] | None = Field(
        default=None,
        description="A meeting in the creator's connected Zoom or Microsoft Teams account "
        "(422 when not connected); by default the deployment's provider (Jitsi Meet or LiveKit).",
    )


class MeetingUpdate(BaseModel):
    """Every field optional; only the ones sent change. ``participant_ids`` replaces the
    invitation list (whoever already joined stays a participant)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    start_time: Instant | None = None
    end_time: Instant | None = None
    participant_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)


class ParticipantRead(BaseModel):
    user_id: uuid.UUID
    status: ParticipantStatus
    invited: bool = Field(description="Invited by the meeting (else: a member who joined)")
    join_time: datetime | None = Field(description="The first join")
    leave_time: datetime | None = Field(description="The last leave")
    attended_minutes: int = Field(description="Summed over every stay, a rejoin included")


class MeetingRead(BaseModel):
    id: uuid.UUID
    team_id: uuid.UUID
    title: str
    description: str
    start_time: datetime
    end_time: datetime
    created_by_id: uuid.UUID
    status: MeetingStatus
    provider: str = Field(
        description="The video provider: `jitsi`, `livekit`, `zoom` or `microsoft_teams`"
    )
    meeting_link: str
    recording_url: str | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime
    participants: list[ParticipantRead]


class JoinRead(BaseModel):
    meeting_link: str
    access_token: str | None = Field(
        description="The provider credential of this participant for this room: a LiveKit "
        "access token, or a Jitsi JWT when the Jitsi server uses token auth; else null"
    )
    join_url: str = Field(
        description="What to open: the link, with the credential if it goes there"
    )
    server_url: str | None = Field(description="LiveKit: the server the client SDK connects to")
    provider: str
    room_name: str
    participant: ParticipantRead


class ParticipantList(BaseModel):
    items: list[ParticipantRead]
    next_cursor: str | None = None


class WebhookAnswer(BaseModel):
    status: Literal["applied", "duplicate", "ignored"]
