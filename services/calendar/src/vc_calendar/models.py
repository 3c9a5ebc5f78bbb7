"""calendar's MetaData: its own tables, the platform's (idempotency keys, outbox, inbox) and the
team membership projection. Alembic's env.py imports this module.

- ``calendar_events`` (Event), ``event_attendees`` (EventAttendee), ``event_exdates`` (the
  occurrences dropped from a series), ``reminders`` (Reminder) and ``reminder_deliveries`` (one
  row per occurrence a reminder fired for: the record of ``sent`` and the exactly-once guard).
- ``feed_tokens``: the hash of each user's secret ICS feed token.
- Projections of other contexts, learned from their events only: ``user_timezones``
  (identity), ``task_deadlines`` (tasks), ``meeting_items`` (meetings), ``imported_events``
  (integrations: the user's Google Calendar events), ``team_members`` / ``deleted_teams`` (teams).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from teams_client import MembershipProjection
from vc_common.events.tables import install_event_tables
from vc_common.models import (
    TYPE_ANNOTATION_MAP,
    CreatedAtMixin,
    TimestampMixin,
    UUIDMixin,
    service_metadata,
)
from vc_common.tables import install_common_tables


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)
membership = MembershipProjection(Base.metadata)

EVENT_TYPES = ("meeting", "deadline", "reminder", "other")
REMINDER_TYPES = ("email", "notification", "both")


class CalendarEvent(UUIDMixin, TimestampMixin, Base):
    """An event of a team (``team_id``) or a personal one (``team_id`` NULL: its creator's alone).

    ``start_time``/``end_time`` are instants (UTC); for a series they are those of its first
    occurrence, and the rule is expanded in ``timezone``. An all-day event's are the local
    midnights (in ``timezone``) of its first day and of the day after its last.
    ``series_end`` bounds the end of the last occurrence (NULL: a series without end), so a range
    query finds candidates by index; the expansion does the exact work.
    """

    __tablename__ = "calendar_events"

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    start_time: Mapped[datetime] = mapped_column(nullable=False)
    end_time: Mapped[datetime] = mapped_column(nullable=False)
    event_type: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    is_all_day: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    recurrence: Mapped[str | None] = mapped_column(String(500), nullable=True)
    series_end: Mapped[datetime | None] = mapped_column(nullable=True)
    # RFC 5545 SEQUENCE: +1 on every change a client must see (time, rule, exdates, title...)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("end_time >= start_time", name="end_after_start"),
        CheckConstraint(
            "event_type IN ('meeting', 'deadline', 'reminder', 'other')", name="event_type"
        ),
        Index("ix_calendar_events_team_id_start_time", "team_id", "start_time"),
        Index("ix_calendar_events_created_by_id_start_time", "created_by_id", "start_time"),
    )


class EventAttendee(Base):
    __tablename__ = "event_attendees"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calendar_events.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)

    __table_args__ = (Index("ix_event_attendees_user_id", "user_id"),)


class EventExdate(Base):
    """One occurrence dropped from a series (RFC 5545 EXDATE), by its start instant."""

    __tablename__ = "event_exdates"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calendar_events.id", ondelete="CASCADE"), primary_key=True
    )
    occurrence_start: Mapped[datetime] = mapped_column(primary_key=True)


class Reminder(UUIDMixin, CreatedAtMixin, Base):
    """Fires once per occurrence at ``start - minutes_before``.

    ``next_occurrence_start`` / ``next_fire_at``: the plan (the next occurrence not yet fired
    for, and when to fire); NULL when nothing is left to fire. ``sent``: a single event's
    reminder fired (a series' once it has fired for its last occurrence); each firing is a
    ``reminder_deliveries`` row.
    """

    __tablename__ = "reminders"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calendar_events.id", ondelete="CASCADE"), nullable=False
    )
    reminder_type: Mapped[str] = mapped_column(String(16), nullable=False)
    minutes_before: Mapped[int] = mapped_column(Integer, nullable=False)
    sent: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    next_occurrence_start: Mapped[datetime | None] = mapped_column(nullable=True)
    next_fire_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint("minutes_before BETWEEN 0 AND 40320", name="minutes_before"),
        CheckConstraint("reminder_type IN ('email', 'notification', 'both')", name="reminder_type"),
        Index("ix_reminders_event_id", "event_id"),
        Index(
            "ix_reminders_due", "next_fire_at", postgresql_where=text("next_fire_at IS NOT NULL")
        ),
    )


class ReminderDelivery(Base):
    """A reminder fired for one occurrence (the primary key makes a second firing impossible)."""

    __tablename__ = "reminder_deliveries"

    reminder_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reminders.id", ondelete="CASCADE"), primary_key=True
    )
    occurrence_start: Mapped[datetime] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)


class FeedToken(Base):
    """A user's secret ICS feed token, kept as its SHA-256 (the token itself is shown once)."""

    __tablename__ = "feed_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class UserTimezone(Base):
    """Each user's profile timezone, from identity's events (UTC until known)."""

    __tablename__ = "user_timezones"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    # `time` of the event that set it: an older event delivered late never wins
    source_time: Mapped[datetime] = mapped_column(nullable=False)


class TaskDeadline(Base):
    """A task of a team, as far as the calendar cares (its due date), from tasks' events.

    Shown as an all-day ``deadline`` while it has a ``due_date``, is not completed and not
    deleted. ``source_time`` (the snapshot fields) and ``completion_time`` (``is_completed``)
    are the times of the events that set them, so a late, older event never wins; a deletion is
    a tombstone (``deleted``) that nothing revives.
    """

    __tablename__ = "task_deadlines"

    task_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    board_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    is_completed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    source_time: Mapped[datetime] = mapped_column(nullable=False)
    completion_time: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (
        Index(
            "ix_task_deadlines_open",
            "team_id",
            "due_date",
            postgresql_where=text("due_date IS NOT NULL AND NOT is_completed AND NOT deleted"),
        ),
    )


class ImportedEvent(Base):
    """An event of a user's connected external calendar (Google), from integrations' events;
    shown in its owner's range queries only. ``removed`` is a tombstone that, with
    ``source_time``, keeps an import delivered late from bringing a removed event back."""

    __tablename__ = "imported_events"

    integration_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(1024), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(nullable=False, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    integration_type: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    start_time: Mapped[datetime] = mapped_column(nullable=False)
    end_time: Mapped[datetime] = mapped_column(nullable=False)
    is_all_day: Mapped[bool] = mapped_column(Boolean, nullable=False)
    removed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    source_time: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (Index("ix_imported_events_user_id_start_time", "user_id", "start_time"),)


class MeetingItem(Base):
    """A meeting of a team, from meetings' events; shown to its participants while scheduled."""

    __tablename__ = "meeting_items"

    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    start_time: Mapped[datetime] = mapped_column(nullable=False)
    end_time: Mapped[datetime] = mapped_column(nullable=False)
    participant_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), nullable=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    source_time: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (
        Index("ix_meeting_items_participant_ids", "participant_ids", postgresql_using="gin"),
        Index("ix_meeting_items_start_time", "start_time"),
    )
