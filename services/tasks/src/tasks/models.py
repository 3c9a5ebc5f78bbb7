"""The tasks service's tables: the seed model (Board, Column, Task, Subtask, TaskComment,
TaskAttachment, Label, TaskLabel) plus ``task_activity``, and the shared tables every service
database carries (idempotency keys, outbox/inbox, the team-membership projection).

Tasks carry ``board_id`` and ``team_id`` copied from their column so that the board answer and the
team-wide task list are single indexed scans. A task's place in its column is ``rank``, a sparse
sort key with gaps (``tasks.ordering``): a move writes the moved row only. The API's ``position``
(the dense 0-based index in the column) is not stored; the queries that read tasks compute it
from ``rank``. The unique constraint on (column_id, rank) is DEFERRABLE (checked at the end of
each statement) so the rare rebalancing UPDATE of a column may pass through duplicates.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from teams_client import MembershipProjection
from vc_common.events.tables import install_event_tables
from vc_common.ids import uuid7
from vc_common.models import (
    TYPE_ANNOTATION_MAP,
    CreatedAtMixin,
    TimestampMixin,
    UUIDMixin,
    service_metadata,
)
from vc_common.tables import install_common_tables

PRIORITIES = ("low", "medium", "high", "urgent")


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)
membership = MembershipProjection(Base.metadata)


class Board(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "boards"

    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[uuid.UUID]
    created_by_id: Mapped[uuid.UUID]

    __table_args__ = (Index("ix_boards_team_id_created_at_id", "team_id", "created_at", "id"),)


class Column(UUIDMixin, CreatedAtMixin, Base):
    __tablename__ = "board_columns"

    name: Mapped[str] = mapped_column(String(100))
    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    order: Mapped[int] = mapped_column(Integer)
    is_done: Mapped[bool] = mapped_column(server_default=text("false"), default=False)

    __table_args__ = (
        UniqueConstraint("board_id", "order", deferrable=True, initially="DEFERRED"),
        CheckConstraint('"order" >= 0', name="order_non_negative"),
    )


class Task(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "tasks"

    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, server_default="", default="")
    column_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("board_columns.id"))
    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID]
    assignee_id: Mapped[uuid.UUID | None]
    priority: Mapped[str] = mapped_column(String(10), server_default="medium", default="medium")
    due_date: Mapped[date | None] = mapped_column(Date)
    rank: Mapped[int] = mapped_column(BigInteger)
    completed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"), default=1)
    created_by_id: Mapped[uuid.UUID]

    __table_args__ = (
        UniqueConstraint("column_id", "rank", deferrable=True, initially="IMMEDIATE"),
        CheckConstraint("priority IN ('low', 'medium', 'high', 'urgent')", name="priority"),
        Index("ix_tasks_board_id_column_id_rank", "board_id", "column_id", "rank"),
        Index("ix_tasks_team_id_created_at_id", "team_id", "created_at", "id"),
        Index("ix_tasks_team_id_assignee_id", "team_id", "assignee_id"),
        Index("ix_tasks_team_id_due_date", "team_id", "due_date"),
        # free-text search (``q``): a trigram GIN index on the expression the query uses. The
        # migration creates it only where the server has pg_trgm (not the embedded PostgreSQL)
        Index(
            "ix_tasks_search_trgm",
            text("(lower(title || ' ' || description)) gin_trgm_ops"),
            postgresql_using="gin",
        ),
    )


class Subtask(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "subtasks"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    is_completed: Mapped[bool] = mapped_column(server_default=text("false"), default=False)


class TaskComment(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "task_comments"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    content: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_task_comments_task_id_created_at_id", "task_id", "created_at", "id"),
    )


class TaskAttachment(UUIDMixin, CreatedAtMixin, Base):
    __tablename__ = "task_attachments"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    file_url: Mapped[str] = mapped_column(String(2048))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[uuid.UUID]
    # a team file of the files service (None: an external link given as file_url)
    file_id: Mapped[uuid.UUID | None] = mapped_column(index=True, default=None)


class KnownFile(Base):
    """The files service's team files as tasks knows them (files.file.uploaded / .deleted): what
    an attachment by ``file_id`` is checked against. A deleted file keeps its row (``deleted_at``)
    so a late ``uploaded`` never brings it back."""

    __tablename__ = "known_files"

    file_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by_id: Mapped[uuid.UUID]
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class Label(UUIDMixin, Base):
    __tablename__ = "labels"

    name: Mapped[str] = mapped_column(String(50))
    color: Mapped[str] = mapped_column(String(7))
    team_id: Mapped[uuid.UUID]

    __table_args__ = (
        UniqueConstraint("team_id", "name"),
        CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name="color_hex"),
    )


class TaskLabel(Base):
    __tablename__ = "task_labels"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TaskActivity(Base):
    """Who changed what on a task, and when: one row per change, written by the service."""

    __tablename__ = "task_activity"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(50))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        Index("ix_task_activity_task_id_created_at_id", "task_id", "created_at", "id"),
    )
