"""GitHub: which issue is which task, and the webhook deliveries already handled."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from vc_common.models import TimestampMixin, UUIDMixin

from integrations.models import Base


class IssueLink(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "github_issue_links"
    __table_args__ = (UniqueConstraint("integration_id", "issue_number"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    issue_number: Mapped[int] = mapped_column(BigInteger)
    task_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(Text)
    #: the issue's state as last seen on either side (open, closed): a change that matches it
    #: is an echo of our own write and is not sent back
    state: Mapped[str] = mapped_column(String(10))
    issue_updated_at: Mapped[datetime | None]


class GitHubDelivery(Base):
    """``X-GitHub-Delivery`` ids already handled: a redelivery is acknowledged, not re-applied."""

    __tablename__ = "github_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(index=True)
