"""Team and TeamMembership, as in the seed schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from vc_common.ids import uuid7
from vc_common.models import TimestampMixin, UUIDMixin

from teams.models import Base


class Team(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, server_default="", default="")
    owner_id: Mapped[uuid.UUID] = mapped_column()
    #: bumped (under the row lock) by every membership change; carried by teams.member.* events
    #: as ``seq`` so projections apply changes in order and ignore stale replays. Not public.
    member_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012  (read created_at after flush)


class TeamMembership(Base):
    __tablename__ = "team_memberships"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column()
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012  (read created_at after flush)
    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        CheckConstraint("role IN ('owner', 'admin', 'member')", name="role"),
        Index("ix_team_memberships_user_id", "user_id"),
    )
