"""The analytics service's tables.

``Base.metadata`` also carries the tables every service has (``idempotency_keys``, ``outbox``,
``inbox``) and the local projection of team memberships, so the Alembic migrations create them.

- ``team_analytics`` / ``user_analytics``: the daily aggregates the read API serves (TeamAnalytics
  by UTC day, UserAnalytics by the user's local day). Rows appear on the first event that touches
  them; a day without a row reads as zeros.
- ``team_activity``: who was at work in a team on a UTC day; ``active_members`` counts its rows.
- ``analytics_events``: the raw log of every counted event (written in the consumer transaction);
  ``rebuild`` recomputes a date range from it.
- ``meeting_attendance``: one row per (meeting, user): a user who rejoins a meeting attended once.
- ``user_timezones``: each user's profile timezone, from identity's events.
- ``team_storage_days``: the net change of a team's stored bytes per UTC day, from the files
  service's ``files.file.uploaded`` / ``.deleted``; ``storage_bytes`` on a day sums them up to it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from teams_client import MembershipProjection
from vc_common.events.tables import EventTables, install_event_tables
from vc_common.models import (
    TYPE_ANNOTATION_MAP,
    CreatedAtMixin,
    TimestampMixin,
    UUIDMixin,
    service_metadata,
)
from vc_common.tables import CommonTables, install_common_tables


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables: CommonTables = install_common_tables(Base.metadata)
event_tables: EventTables = install_event_tables(Base.metadata)
membership = MembershipProjection(Base.metadata)


def _counter() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, server_default=text("0"))


class TeamAnalytics(UUIDMixin, TimestampMixin, Base):
    """One team's totals on one UTC day."""

    __tablename__ = "team_analytics"

    team_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    active_members: Mapped[int] = _counter()
    completed_tasks: Mapped[int] = _counter()
    total_focus_minutes: Mapped[int] = _counter()
    meetings_count: Mapped[int] = _counter()

    __table_args__ = (UniqueConstraint("team_id", "date"),)


class UserAnalytics(UUIDMixin, TimestampMixin, Base):
    """One user's totals on one day of their local calendar."""

    __tablename__ = "user_analytics"

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    completed_tasks: Mapped[int] = _counter()
    focus_minutes: Mapped[int] = _counter()
    meetings_attended: Mapped[int] = _counter()

    __table_args__ = (UniqueConstraint("user_id", "date"),)


class TeamActivity(Base):
    """A user was at work in a team on a UTC day (any event of theirs in that team)."""

    __tablename__ = "team_activity"

    team_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)

    __table_args__ = (PrimaryKeyConstraint("team_id", "date", "user_id"),)


class AnalyticsEvent(Base):
    """The raw log: every event analytics counted, as it counted it.

    ``time`` is when the event happened (the data's own time, else the CloudEvent ``time``);
    ``user_timezone`` is the zone the event's user had when it was counted, so a rebuild puts it
    on the same local day as live consumption did.
    """

    __tablename__ = "analytics_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(200), nullable=False)
    time: Mapped[datetime] = mapped_column(nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    user_timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now(), nullable=False)

    __table_args__ = (
        Index("ix_analytics_events_time", "time"),
        Index("ix_analytics_events_team_id", "team_id"),
    )


class MeetingAttendance(CreatedAtMixin, Base):
    """A user attended a meeting (the first join counts; a rejoin does not count again)."""

    __tablename__ = "meeting_attendance"

    meeting_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # the user's local day of the join, the day meetings_attended counts it on
    date: Mapped[date] = mapped_column(Date, nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("meeting_id", "user_id"),
        Index("ix_meeting_attendance_user_id_date", "user_id", "date"),
        Index("ix_meeting_attendance_team_id", "team_id"),
    )


class UserTimezone(Base):
    """Local projection of each user's profile timezone, from identity's events."""

    __tablename__ = "user_timezones"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    # `time` of the event that set it: an older event delivered late never wins
    source_time: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )

    __table_args__ = (CheckConstraint("timezone <> ''", name="timezone_not_empty"),)


class TeamStorageDay(Base):
    """The net change of a team's stored bytes on one UTC day (uploads minus deletions)."""

    __tablename__ = "team_storage_days"

    team_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    delta_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))

    __table_args__ = (PrimaryKeyConstraint("team_id", "date"),)
