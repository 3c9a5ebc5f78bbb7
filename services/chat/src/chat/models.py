"""The chat service's tables: the seed's Room and Message, plus ``room_events`` (the ordered log
of every change in a room), and the shared tables every service database carries (idempotency
keys, outbox/inbox, the team-membership projection).

Ordering. Every change in a room (a message posted, edited or deleted) takes the room's next
``seq`` with ``UPDATE rooms SET last_seq = last_seq + 1``: the row lock serialises the room's
writers until commit, so the committed ``seq`` values of a room are dense (1, 2, 3, ...) and in
commit order. Live delivery, resume and gap repair all follow ``seq``; message ids (UUIDv7) stay
the public cursor and map to the ``seq`` of the post.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from teams_client import MembershipProjection
from vc_common.events.tables import install_event_tables
from vc_common.models import TYPE_ANNOTATION_MAP, CreatedAtMixin, UUIDMixin, service_metadata
from vc_common.tables import install_common_tables

ROOM_NAME_MAX = 100


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)
membership = MembershipProjection(Base.metadata)


def _now() -> datetime:
    return datetime.now(UTC)


class Room(UUIDMixin, CreatedAtMixin, Base):
    __tablename__ = "rooms"

    name: Mapped[str] = mapped_column(String(ROOM_NAME_MAX))
    team_id: Mapped[uuid.UUID]
    created_by_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), default=_now, onupdate=_now
    )
    # the seq of the room's last change (see the module docstring)
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it)
    __table_args__ = (
        # room names are unique in a team, case-insensitively ("General" == "general")
        Index("uq_rooms_team_id_lower_name", "team_id", func.lower(text("name")), unique=True),
        Index("ix_rooms_team_id_created_at_id", "team_id", "created_at", "id"),
    )


class Message(UUIDMixin, Base):
    __tablename__ = "messages"

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    content: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(server_default=func.now(), default=_now)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    seq: Mapped[int] = mapped_column(BigInteger)

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it)
    __table_args__ = (UniqueConstraint("room_id", "seq"),)


class RoomEvent(Base):
    """One change in a room, in commit order: what resume and gap repair replay."""

    __tablename__ = "room_events"

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # message | message.edited | message.deleted
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=_now)

    __table_args__ = (PrimaryKeyConstraint("room_id", "seq"),)
