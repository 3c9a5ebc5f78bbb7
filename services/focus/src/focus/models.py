"""The focus service's tables.

``Base.metadata`` also carries the tables every service has (``idempotency_keys``, ``outbox``,
``inbox``) and the local projection of team memberships, so the Alembic migrations create them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
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

FOCUS_TYPES = ("pomodoro", "deep_work", "custom")


class FocusSession(UUIDMixin, CreatedAtMixin, Base):
    __tablename__ = "focus_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    task_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    focus_type: Mapped[str] = mapped_column(String(20), nullable=False)
    start_time: Mapped[datetime] = mapped_column(nullable=False)
    # start_time + duration_minutes, kept so the auto-end job finds overdue sessions by index
    planned_end_time: Mapped[datetime] = mapped_column(nullable=False)
    end_time: Mapped[datetime | None] = mapped_column(nullable=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    actual_duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_completed: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("false")
    )
    interruptions: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    # set when the session ends: the IANA zone its minutes were split by, and its local end day
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    auto_ended: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))

    days: Mapped[list[FocusSessionDay]] = relationship(
        back_populates="session",
        lazy="raise",
        order_by="FocusSessionDay.date",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        CheckConstraint("focus_type IN ('pomodoro', 'deep_work', 'custom')", name="focus_type"),
        CheckConstraint("duration_minutes BETWEEN 1 AND 480", name="duration_minutes"),
        CheckConstraint("interruptions >= 0", name="interruptions"),
        CheckConstraint("end_time IS NULL OR end_time >= start_time", name="end_after_start"),
        # one running session per user, enforced by the database (not only checked)
        Index(
            "uq_focus_sessions_running_user",
            "user_id",
            unique=True,
            postgresql_where=text("end_time IS NULL"),
        ),
        Index("ix_focus_sessions_user_start", "user_id", "start_time", "id"),
        Index(
            "ix_focus_sessions_running_planned_end",
            "planned_end_time",
            postgresql_where=text("end_time IS NULL"),
        ),
        Index(
            "ix_focus_sessions_running_team", "team_id", postgresql_where=text("end_time IS NULL")
        ),
        Index(
            "ix_focus_sessions_task",
            "task_id",
            "team_id",
            postgresql_where=text("task_id IS NOT NULL"),
        ),
        Index("ix_focus_sessions_user_end_date", "user_id", "end_date"),
    )


class FocusSessionDay(Base):
    """The minutes of one ended session on one local day of its user."""

    __tablename__ = "focus_session_days"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("focus_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    minutes: Mapped[int] = mapped_column(Integer, nullable=False)

    session: Mapped[FocusSession] = relationship(back_populates="days", lazy="raise")

    __table_args__ = (
        CheckConstraint("minutes > 0", name="minutes_positive"),
        Index("ix_focus_session_days_user_date", "user_id", "date"),
    )


class DailyFocusGoal(UUIDMixin, TimestampMixin, Base):
    """A user's focus goal for one local day; ``team_id`` set: focus done for that team."""

    __tablename__ = "daily_focus_goals"

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    target_hours: Mapped[Decimal] = mapped_column(Numeric(4, 2), nullable=False)
    actual_hours: Mapped[Decimal] = mapped_column(
        Numeric(5, 2), nullable=False, server_default=text("0")
    )
    reached_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012

    __table_args__ = (
        CheckConstraint("target_hours BETWEEN 0 AND 24", name="target_hours"),
        Index(
            "uq_daily_focus_goals_user_team_date",
            "user_id",
            "team_id",
            "date",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )


class FocusStat(UUIDMixin, CreatedAtMixin, Base):
    """Daily totals of a user's ended sessions: all of them (``team_id`` null) or one team's."""

    __tablename__ = "focus_stats"

    user_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    total_focus_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    completed_sessions: Mapped[int] = mapped_column(Integer, nullable=False)
    avg_session_duration: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    interruptions: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012
    __table_args__ = (
        Index(
            "uq_focus_stats_user_team_date",
            "user_id",
            "team_id",
            "date",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
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
