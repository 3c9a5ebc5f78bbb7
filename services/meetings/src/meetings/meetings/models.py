"""The tables of meetings: ``meetings`` (Meeting), ``meeting_participants`` (MeetingParticipant),
``attendance_intervals`` (one row per join: the truth attendance is summed from) and
``provider_webhooks`` (the ids of the provider webhooks already applied)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from vc_common.ids import uuid7
from vc_common.models import CreatedAtMixin, TimestampMixin

from meetings.models import Base

STATUSES = ("scheduled", "in_progress", "completed", "cancelled")
PARTICIPANT_STATUSES = ("invited", "joined", "left")


class Meeting(TimestampMixin, Base):
    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint(
            "status IN ('scheduled', 'in_progress', 'completed', 'cancelled')", name="status"
        ),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        Index("ix_meetings_team_id_start_time", "team_id", "start_time", "id"),
        # the auto-end job's claim: only the meetings in progress
        Index(
            "ix_meetings_in_progress",
            "end_time",
            postgresql_where=text("status = 'in_progress'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    team_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    start_time: Mapped[datetime] = mapped_column(nullable=False)
    end_time: Mapped[datetime] = mapped_column(nullable=False)
    created_by_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    # the provider's room: unguessable, and how its webhooks name the meeting
    room_name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    meeting_link: Mapped[str] = mapped_column(String(2048), nullable=False)
    recording_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # who or what completed it: user (POST /end), auto (the job), provider (room_finished)
    ended_by: Mapped[str | None] = mapped_column(String(16), nullable=True)


class MeetingParticipant(CreatedAtMixin, Base):
    """One user in one meeting, however often they join. The summary columns are recomputed
    from the user's :class:`AttendanceInterval` rows after every change."""

    __tablename__ = "meeting_participants"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id"),
        CheckConstraint("status IN ('invited', 'joined', 'left')", name="status"),
        Index("ix_meeting_participants_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    invited: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    join_time: Mapped[datetime | None] = mapped_column(nullable=True)  # first join
    leave_time: Mapped[datetime | None] = mapped_column(nullable=True)  # last leave
    # seconds of the closed intervals (their union: two devices at once count once); the
    # whole attendance once the participant has left, the stay still open counts on top
    attended_seconds: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class AttendanceInterval(Base):
    """One stay in the meeting: opened by a join (the route, or the provider's
    ``participant_joined``), closed by a leave, the meeting's end or ``participant_left``.
    ``source_key`` is the provider's connection id (LiveKit's participant sid) once known, so
    that the provider's joined and left of one connection land on one row in either order."""

    __tablename__ = "attendance_intervals"
    __table_args__ = (
        UniqueConstraint("meeting_id", "source_key"),
        Index("ix_attendance_intervals_meeting_id_user_id", "meeting_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    meeting_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    source_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(nullable=False)
    left_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ProviderWebhook(Base):
    """A provider webhook applied once: a redelivery with the same event id changes nothing."""

    __tablename__ = "provider_webhooks"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False)
