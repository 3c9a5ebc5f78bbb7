"""SyncLog (seed schema: id, integration_id, sync_type, status, started_at, completed_at,
error_message, records_synced). ``pending → in_progress → completed | failed``; at most one
pending or in progress per integration (a partial unique index, so two requests racing cannot
both start one)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column
from vc_common.models import CreatedAtMixin, UUIDMixin

from integrations.models import Base


class SyncLog(UUIDMixin, CreatedAtMixin, Base):
    __tablename__ = "sync_logs"
    __table_args__ = (
        CheckConstraint("status IN ('pending','in_progress','completed','failed')", name="status"),
        Index(
            "uq_sync_logs_one_running",
            "integration_id",
            unique=True,
            postgresql_where=text("status IN ('pending','in_progress')"),
        ),
        Index("ix_sync_logs_integration_created", "integration_id", "created_at", "id"),
        Index("ix_sync_logs_pending", "created_at", postgresql_where=text("status = 'pending'")),
        Index(
            "ix_sync_logs_lease",
            "lease_until",
            postgresql_where=text("status = 'in_progress'"),
        ),
    )

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    sync_type: Mapped[str] = mapped_column(String(40))
    #: what started it: manual (POST /sync), schedule, webhook, event
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    records_synced: Mapped[int] = mapped_column(Integer, default=0)
    #: an in-progress sync whose lease passed was abandoned (crash): the sweeper fails it
    lease_until: Mapped[datetime | None]
