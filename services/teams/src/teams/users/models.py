"""``known_users``: the users identity told us about (its events, or a read-through)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from teams.models import Base


class KnownUser(Base):
    __tablename__ = "known_users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # identity's user id
    username: Mapped[str] = mapped_column(String(150))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    #: ``time`` of the last identity event applied; NULL for a row learnt by read-through, so
    #: that any event overrides it. Older events than this are ignored.
    event_time: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
