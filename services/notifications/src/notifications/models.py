"""The notifications service's tables (``Base.metadata`` also carries the platform's:
``idempotency_keys``, ``outbox``, ``inbox``, and teams' membership projection).

Its own:

- ``notifications`` (the seed's Notification, plus ``kind``, ``link`` and how it travels):
  ``delivered_at`` NULL while it is **held** (the user focuses, or is in quiet hours); the inbox
  shows delivered in-app rows only. ``email``: it also goes out by mail, in the user's
  ``email_batches`` row once delivered.
- ``notification_preferences``: one row per user who changed a default.
- ``holds``: one row per user with held notifications, and when the release job must look at it
  again (``release_at``). A held notification always has its user's hold row: the release is
  never lost, also across restarts.
- ``email_batches``: the outbox of mails, one per user and batching window.
- projections of other contexts, from their events: ``known_users`` (identity: username, e-mail,
  timezone), ``focus_sessions`` (focus: who focuses until when), ``known_teams`` (teams: names).
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from teams_client import MembershipProjection
from vc_common.events.tables import install_event_tables
from vc_common.ids import uuid7
from vc_common.models import TYPE_ANNOTATION_MAP, service_metadata
from vc_common.tables import install_common_tables


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


def table_of(model: type[Base]) -> Table:
    """A model's ``Table`` (for Core inserts and updates of many rows at once)."""
    return cast(Table, model.__table__)


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)
membership = MembershipProjection(Base.metadata)

_DELIVERED_IN_APP = text("delivered_at IS NOT NULL AND in_app")


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    recipient_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    notification_type: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    link: Mapped[str | None] = mapped_column(String(500), nullable=True)
    is_read: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    in_app: Mapped[bool] = mapped_column(Boolean, nullable=False)
    email: Mapped[bool] = mapped_column(Boolean, nullable=False)
    email_batch_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    #: the event it was made from
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    #: what the digest counted (``{"kind": n}``), for a digest only
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "notification_type IN ('info', 'warning', 'error', 'success')",
            name="notification_type_known",
        ),
        # the inbox, newest first, and its keyset pages
        Index(
            "ix_notifications_inbox",
            "recipient_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=_DELIVERED_IN_APP,
        ),
        # unread-count: an index-only count of the user's unread rows
        Index(
            "ix_notifications_unread",
            "recipient_id",
            postgresql_where=text("NOT is_read AND delivered_at IS NOT NULL AND in_app"),
        ),
        Index(
            "ix_notifications_held", "recipient_id", postgresql_where=text("delivered_at IS NULL")
        ),
        Index(
            "ix_notifications_email_batch_id",
            "email_batch_id",
            postgresql_where=text("email_batch_id IS NOT NULL"),
        ),
    )


class Preference(Base):
    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    #: ``{kind: {"in_app": bool, "email": bool}}``; a kind not named keeps its default
    channels: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    defer_during_focus: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("true")
    )
    quiet_hours_start: Mapped[time | None] = mapped_column(Time, nullable=True)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __table_args__ = (
        CheckConstraint(
            "(quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)", name="quiet_hours_whole"
        ),
    )


class Hold(Base):
    __tablename__ = "holds"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    #: ``focus`` or ``quiet_hours``: what the digest says ("While you focused: ...")
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    since: Mapped[datetime] = mapped_column(nullable=False)
    #: the release job looks again at this moment (or earlier: a session ended, prefs changed)
    release_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (Index("ix_holds_release_at", "release_at"),)


class EmailBatch(Base):
    """One mail to send: every notification of ``user_id`` attached to it (``email_batch_id``)
    that is still unread when it goes out. ``status``: pending, sent, skipped (nothing left to
    say: all read), dead (given up)."""

    __tablename__ = "email_batches"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    #: when it is due: the end of the batching window, now for an urgent one, or the next retry
    send_after: Mapped[datetime] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    to_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sent', 'skipped', 'dead')", name="email_status_known"
        ),
        Index("ix_email_batches_due", "send_after", postgresql_where=text("status = 'pending'")),
        Index("ix_email_batches_open_user", "user_id", postgresql_where=text("status = 'pending'")),
    )


class KnownUser(Base):
    """identity's users as notifications needs them: mentions (username), mail (email), quiet
    hours (timezone)."""

    __tablename__ = "known_users"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(String(150), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    #: ``time`` of the last event applied: an older event delivered late never wins
    source_time: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (Index("ix_known_users_username_lower", text("lower(username)")),)


class FocusSession(Base):
    """focus's sessions, for "is this user focusing now?"."""

    __tablename__ = "focus_sessions"

    session_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    start_time: Mapped[datetime] = mapped_column(nullable=False)
    planned_end_time: Mapped[datetime] = mapped_column(nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_focus_sessions_user_id", "user_id", "planned_end_time"),)


class KnownTeam(Base):
    """teams' names, for "You were added to Apollo"."""

    __tablename__ = "known_teams"

    team_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
