"""Integration (seed schema: id, user_id, integration_type, access_token, refresh_token,
expires_at, is_active, created_at, updated_at) and the pending OAuth states.

``access_token``/``refresh_token`` hold Fernet ciphertexts (``integrations.crypto``), never
plaintext. One integration per user and type: reconnecting replaces its tokens.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from vc_common.models import TimestampMixin, UUIDMixin

from integrations.models import Base

STATUSES = ("connected", "needs_reconnect", "disconnected")
TYPES = ("google_calendar", "slack", "github", "notion", "zoom", "microsoft_teams")


class Integration(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "integrations"
    __table_args__ = (
        UniqueConstraint("user_id", "integration_type"),
        CheckConstraint(
            "integration_type IN ('google_calendar','slack','github','notion','zoom',"
            "'microsoft_teams')",
            name="integration_type",
        ),
        CheckConstraint("status IN ('connected','needs_reconnect','disconnected')", name="status"),
        # the refresher's claim: active integrations with a refresh token, by due time
        Index(
            "ix_integrations_refresh_due",
            "refresh_due_at",
            postgresql_where=text("is_active AND refresh_token IS NOT NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    integration_type: Mapped[str] = mapped_column(String(32))
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(20), default="connected")
    scope: Mapped[str | None] = mapped_column(Text)
    #: what identifies the connected account (no secret): Slack team, Notion workspace, ...
    account: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    #: what the user chose: the board, repository, channel, database, calendar...
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    #: the provider's incremental cursor (Google's nextSyncToken, GitHub's `since`)
    sync_cursor: Mapped[str | None] = mapped_column(Text)
    last_sync: Mapped[datetime | None]
    next_sync_at: Mapped[datetime | None]
    #: when the refresher should refresh (expires_at - ahead, or later after a failure)
    refresh_due_at: Mapped[datetime | None]
    refresh_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: bumped on every reconnect: a refresh or sync of an older grant is discarded
    generation: Mapped[int] = mapped_column(Integer, default=1)
    #: a webhook arrived while a sync ran: run another one when it ends
    resync_requested: Mapped[bool] = mapped_column(default=False)


class OAuthState(Base):
    """A pending authorization: ``state_hash`` is SHA-256 of the ``state`` sent to the provider
    (the state itself is never stored), bound to the user, single use, expiring."""

    __tablename__ = "oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID]
    integration_type: Mapped[str] = mapped_column(String(32))
    code_verifier: Mapped[str | None] = mapped_column(Text)  # encrypted
    redirect_uri: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
