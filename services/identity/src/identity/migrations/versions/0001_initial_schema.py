"""Initial schema: users and profiles, refresh tokens, signing keys, the mail outbox, and the
common tables (idempotency keys; event outbox and inbox).

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:12:35.323735
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from vc_common.migrations import ddl, shared

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shared.create_platform_tables(op)
    op.create_table(
        "mail_outbox",
        ddl.uuid_id(),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        ddl.created_at(),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        ddl.timestamp_now("next_attempt_at"),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        ddl.primary_key("mail_outbox"),
    )
    ddl.create_index(
        op,
        "ix_mail_outbox_pending",
        "mail_outbox",
        ["next_attempt_at"],
        where="sent_at IS NULL AND dead_at IS NULL",
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        ddl.created_at(),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("signing_keys", "kid"),
    )
    op.create_table(
        "users",
        ddl.uuid_id(),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("first_name", sa.String(length=150), server_default="", nullable=False),
        sa.Column("last_name", sa.String(length=150), server_default="", nullable=False),
        sa.Column("password", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_staff", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        ddl.timestamp_now("date_joined"),
        sa.Column("last_login", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("users"),
    )
    ddl.create_index(
        op, "uq_users_lower_email", "users", [sa.literal_column("lower(email)")], unique=True
    )
    ddl.create_index(
        op, "uq_users_lower_username", "users", [sa.literal_column("lower(username)")], unique=True
    )
    op.create_table(
        "refresh_tokens",
        ddl.uuid_id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        ddl.created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        ddl.foreign_key("refresh_tokens", "user_id", "users", ondelete="CASCADE"),
        ddl.primary_key("refresh_tokens"),
        ddl.unique("refresh_tokens", "token_hash"),
    )
    ddl.create_index(op, "ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    ddl.create_index(op, "ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_table(
        "user_profiles",
        ddl.uuid_id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("bio", sa.Text(), server_default="", nullable=False),
        sa.Column("location", sa.String(length=100), server_default="", nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("avatar", sa.String(length=500), nullable=True),
        sa.Column("role", sa.String(length=10), server_default="member", nullable=False),
        sa.Column("company_name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("is_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("verification_token", sa.String(length=64), nullable=True),
        sa.Column("verification_expires_at", sa.DateTime(timezone=True), nullable=True),
        *ddl.timestamps(),
        ddl.check("user_profiles", "role", "role IN ('owner', 'admin', 'member')"),
        ddl.foreign_key("user_profiles", "user_id", "users", ondelete="CASCADE"),
        ddl.primary_key("user_profiles"),
        ddl.unique("user_profiles", "user_id"),
        ddl.unique("user_profiles", "verification_token"),
    )


def downgrade() -> None:
    op.drop_table("user_profiles")
    op.drop_index("ix_refresh_tokens_user_id", table_name="refresh_tokens")
    op.drop_index("ix_refresh_tokens_family_id", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("uq_users_lower_username", table_name="users")
    op.drop_index("uq_users_lower_email", table_name="users")
    op.drop_table("users")
    op.drop_table("signing_keys")
    op.drop_index("ix_mail_outbox_pending", table_name="mail_outbox")
    op.drop_table("mail_outbox")
    shared.drop_platform_tables(op)
