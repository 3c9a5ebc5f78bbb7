"""realtime's tables: the stream log (what resume replays and gap repair reads), the presence
facts (what the team's "now" is derived from), and the platform's shared tables (idempotency
keys, outbox/inbox) and the team membership projection. Alembic's env.py imports this module.

- ``stream_log``: every event delivered to sockets, numbered by ``seq``. The consumer that writes
  it takes its numbers with ``UPDATE stream_state SET last_seq = last_seq + n`` in the same
  transaction: the row lock serialises writers until commit, so committed seqs are dense and in
  commit order; every replica hands frames to its sockets in that order. Rows live as long as
  the resume window (an hour).
- Presence facts, each kept from events or sockets: ``focus_sessions``, ``meeting_participants``
  and ``ended_meetings``, ``calendar_events`` and ``calendar_attendees``, ``connections`` (one
  per open socket, with its replica) and ``replicas`` (alive while they heartbeat), and
  ``presence`` (one row per user: the status last announced, its ``since``, the last activity,
  and when time alone may change it, ``next_check_at``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from teams_client import MembershipProjection
from vc_common.events.tables import install_event_tables
from vc_common.models import TYPE_ANNOTATION_MAP, service_metadata
from vc_common.tables import install_common_tables


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)
membership = MembershipProjection(Base.metadata)

NOW = text("now()")


class StreamState(Base):
    """One row (id 1): the seq of the last committed stream entry."""

    __tablename__ = "stream_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class StreamEntry(Base):
    __tablename__ = "stream_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    event_type: Mapped[str] = mapped_column(String(200))
    event_time: Mapped[datetime]
    # who receives it: the members of team_id, else recipient_id alone
    team_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # a membership change the replicas apply to their sockets: {"team","user","role","seq"}
    # (role null: removed), or {"team","deleted":true}
    change: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    frame: Mapped[str] = mapped_column(Text)  # the client frame, serialised once
    created_at: Mapped[datetime] = mapped_column(server_default=NOW, index=True)


class FocusSession(Base):
    __tablename__ = "focus_sessions"

    session_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    team_id: Mapped[uuid.UUID | None]
    task_id: Mapped[uuid.UUID | None]
    focus_type: Mapped[str] = mapped_column(String(20))
    start_time: Mapped[datetime]
    planned_end_time: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class MeetingParticipant(Base):
    __tablename__ = "meeting_participants"

    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    team_id: Mapped[uuid.UUID | None]
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]


class EndedMeeting(Base):
    __tablename__ = "ended_meetings"

    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ended_at: Mapped[datetime]


class CalendarEvent(Base):
    __tablename__ = "calendar_events"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    team_id: Mapped[uuid.UUID | None]
    event_type: Mapped[str] = mapped_column(String(20))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    is_all_day: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    recurrence: Mapped[str | None] = mapped_column(Text)
    # the zone a series is expanded in, and the occurrences dropped from it
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    exdates: Mapped[list[datetime]] = mapped_column(
        ARRAY(DateTime(timezone=True)), server_default="{}"
    )
    cancelled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # the CloudEvent time of the last change applied: an older event never overwrites a newer one
    version: Mapped[datetime]


class CalendarAttendee(Base):
    __tablename__ = "calendar_attendees"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calendar_events.event_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class Replica(Base):
    __tablename__ = "replicas"

    replica_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(server_default=NOW)
    seen_at: Mapped[datetime]


class Connection(Base):
    __tablename__ = "connections"

    socket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    replica_id: Mapped[uuid.UUID] = mapped_column(index=True)
    connected_at: Mapped[datetime]


class Presence(Base):
    __tablename__ = "presence"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'offline'"))
    since: Mapped[datetime]
    # what the announced status was about (until, focus_type, task_id, meeting_id, team_id)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    last_active_at: Mapped[datetime | None]
    disconnected_at: Mapped[datetime | None]
    # when time alone may change the status (a focus deadline, a calendar boundary, going away)
    next_check_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_presence_next_check_at",
            "next_check_at",
            postgresql_where=text("next_check_at IS NOT NULL"),
        ),
    )
