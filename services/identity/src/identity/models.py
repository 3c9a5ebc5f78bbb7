"""Identity's tables: users and their profiles, refresh tokens, signing keys, the mail outbox,
plus the common ones (idempotency keys, event outbox and inbox)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from vc_common.events.tables import install_event_tables
from vc_common.ids import uuid7
from vc_common.models import TYPE_ANNOTATION_MAP, TimestampMixin, UUIDMixin, service_metadata
from vc_common.tables import install_common_tables

ROLES = ("owner", "admin", "member")


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)


class User(UUIDMixin, Base):
    """The seed's ``User`` (Django's auth_user), with UUIDv7 ids."""

    __tablename__ = "users"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012  (SQLAlchemy declares it)

    username: Mapped[str] = mapped_column(String(150))
    email: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(150), server_default="", default="")
    last_name: Mapped[str] = mapped_column(String(150), server_default="", default="")
    password: Mapped[str] = mapped_column(String(255))  # an argon2id hash, never returned
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"), default=True)
    is_staff: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    is_superuser: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    date_joined: Mapped[datetime] = mapped_column(server_default=func.now())
    last_login: Mapped[datetime | None] = mapped_column(default=None)

    profile: Mapped[UserProfile] = relationship(back_populates="user", lazy="raise", uselist=False)

    __table_args__ = (
        # case-insensitive uniqueness, enforced by the database (never check-then-insert)
        Index("uq_users_lower_username", func.lower(text("username")), unique=True),
        Index("uq_users_lower_email", func.lower(text("email")), unique=True),
    )


class UserProfile(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "user_profiles"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012  (SQLAlchemy declares it)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    bio: Mapped[str] = mapped_column(Text, server_default="", default="")
    location: Mapped[str] = mapped_column(String(100), server_default="", default="")
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    avatar: Mapped[str | None] = mapped_column(String(500), default=None)
    role: Mapped[str] = mapped_column(String(10), server_default="member", default="member")
    company_name: Mapped[str] = mapped_column(String(100), server_default="", default="")
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC", default="UTC")
    is_verified: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    # SHA-256 of the token mailed to the user (the token itself is never stored)
    verification_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    verification_expires_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="profile", lazy="raise")

    __table_args__ = (CheckConstraint("role IN ('owner', 'admin', 'member')", name="role"),)


class RefreshToken(UUIDMixin, Base):
    """Opaque refresh tokens, stored as SHA-256. Each login starts a family; a refresh rotates
    within it. A rotated (``used_at``) token presented again means theft: the family dies."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Revocation(Base):
    """Revoked access tokens, the durable list every verifier projects (``GET
    /internal/v1/revocations``). ``kind``: ``jti`` (one token), ``sid`` (every token of one
    sign-in) with ``value`` its expiry, or ``user`` with ``value`` the cutoff (tokens issued
    before it are dead). Written in the transaction that causes it; forgotten after
    ``expires_at``, when no token it names can still be valid."""

    __tablename__ = "revocations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (CheckConstraint("kind IN ('jti', 'sid', 'user')", name="kind"),)


class SigningKey(Base):
    """Ed25519 keys that sign access tokens. The newest non-retired key signs; every
    non-retired key is published in the JWKS."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key: Mapped[str] = mapped_column(Text)  # PKCS#8 PEM
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class MailOutbox(Base):
    """Mail written in the transaction that causes it; a background loop sends it after commit."""

    __tablename__ = "mail_outbox"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    dead_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (
        Index(
            "ix_mail_outbox_pending",
            "next_attempt_at",
            postgresql_where=text("sent_at IS NULL AND dead_at IS NULL"),
        ),
    )
