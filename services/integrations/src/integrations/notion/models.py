"""Notion: the page each exported task became (a second export updates it)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from vc_common.models import TimestampMixin, UUIDMixin

from integrations.models import Base


class NotionPage(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "notion_pages"
    __table_args__ = (UniqueConstraint("integration_id", "task_id"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    task_id: Mapped[uuid.UUID]
    page_id: Mapped[str] = mapped_column(String(64))
