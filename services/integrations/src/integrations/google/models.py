"""Google Calendar: the events imported from each user's Google calendar, and which of the
user's calendar events were pushed to Google (so an update goes to the same Google event)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from vc_common.models import TimestampMixin, UUIDMixin

from integrations.models import Base


class GoogleEvent(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "google_events"
    __table_args__ = (UniqueConstraint("integration_id", "google_id"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    google_id: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(20))  # confirmed, tentative, cancelled
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime | None]
    end_time: Mapped[datetime | None]
    is_all_day: Mapped[bool] = mapped_column(default=False)
    google_updated: Mapped[datetime | None]
    #: set when this Google event is the copy of one of our calendar events (pushed by us)
    calendar_event_id: Mapped[uuid.UUID | None]


class CalendarPush(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "google_calendar_pushes"
    __table_args__ = (UniqueConstraint("integration_id", "calendar_event_id"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    calendar_event_id: Mapped[uuid.UUID]
    google_id: Mapped[str] = mapped_column(String(1024))
