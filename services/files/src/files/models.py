"""files's MetaData: its own tables, the platform's (idempotency keys, outbox, inbox) and the
team membership projection. Alembic's env.py imports this module.

A ``File`` row exists before its first byte is stored and outlives its last one:

- ``pending``: created (committed) before the upload streams, reserving its declared size in the
  team's quota; the bytes being written belong to it.
- ``stored``: the bytes are complete (``size``, ``sha256``, ``content_type`` final).
- ``deleted``: deleted by a user (or with its team); the sweeper removes the bytes, then the row.

So there are never bytes without a row: a crash at any point leaves a ``pending`` or ``deleted``
row that the sweeper finishes. Avatars are files without a team (``kind = "avatar"``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from teams_client import MembershipProjection
from vc_common.events.tables import install_event_tables
from vc_common.models import TYPE_ANNOTATION_MAP, TimestampMixin, UUIDMixin, service_metadata
from vc_common.tables import install_common_tables


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)
membership = MembershipProjection(Base.metadata)

PENDING, STORED, DELETED = "pending", "stored", "deleted"
FILE, AVATAR = "file", "avatar"


class File(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "files"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'stored', 'deleted')", name="state"),
        CheckConstraint("kind IN ('file', 'avatar')", name="kind"),
        CheckConstraint("size >= 0", name="size"),
        # the team's files, newest first (the list), stored only
        Index(
            "ix_files_team_id_created",
            "team_id",
            "id",
            postgresql_where=text("state = 'stored'"),
        ),
        # the sweeper's work: deleted rows, and pending ones (stale after a crash)
        Index("ix_files_sweep", "state", "updated_at", postgresql_where=text("state <> 'stored'")),
        Index("ix_files_uploaded_by_id_kind", "uploaded_by_id", "kind"),
    )

    team_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default=FILE)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    # bytes stored; while pending, the bytes reserved in the team's quota
    size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    content_type: Mapped[str] = mapped_column(String(255), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    storage_key: Mapped[str] = mapped_column(String(512), nullable=False)
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TeamUsage(Base):
    """Bytes a team uses (stored files plus pending reservations): the quota's counter, locked
    (``FOR UPDATE``) by every change so two uploads cannot both take the last free bytes."""

    __tablename__ = "team_usage"
    __table_args__ = (CheckConstraint("used_bytes >= 0", name="used_bytes"),)

    team_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    used_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
