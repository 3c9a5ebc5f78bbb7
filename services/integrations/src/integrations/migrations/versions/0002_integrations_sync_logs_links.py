"""integrations, oauth states, sync logs, github links, google events, notion pages

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:22:36.642822
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from vc_common.migrations import ddl

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "github_deliveries",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("github_deliveries", "delivery_id"),
    )
    ddl.create_index(op, "ix_github_deliveries_received_at", "github_deliveries", ["received_at"])
    op.create_table(
        "integrations",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("integration_type", sa.String(length=32), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("account", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sync_cursor", sa.Text(), nullable=True),
        sa.Column("last_sync", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("resync_requested", sa.Boolean(), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.check(
            "integrations",
            "integration_type",
            "integration_type IN ('google_calendar','slack','github','notion','zoom',"
            "'microsoft_teams')",
        ),
        ddl.check(
            "integrations", "status", "status IN ('connected','needs_reconnect','disconnected')"
        ),
        ddl.primary_key("integrations"),
        ddl.unique("integrations", "user_id", "integration_type"),
    )
    ddl.create_index(
        op,
        "ix_integrations_refresh_due",
        "integrations",
        ["refresh_due_at"],
        where="is_active AND refresh_token IS NOT NULL",
    )
    ddl.create_index(op, "ix_integrations_user_id", "integrations", ["user_id"])
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("integration_type", sa.String(length=32), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("oauth_states", "state_hash"),
    )
    ddl.create_index(op, "ix_oauth_states_expires_at", "oauth_states", ["expires_at"])
    op.create_table(
        "github_issue_links",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("issue_number", sa.BigInteger(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("issue_updated_at", sa.DateTime(timezone=True), nullable=True),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.foreign_key("github_issue_links", "integration_id", "integrations", ondelete="CASCADE"),
        ddl.primary_key("github_issue_links"),
        ddl.unique("github_issue_links", "integration_id", "issue_number"),
        ddl.unique("github_issue_links", "task_id"),
    )
    op.create_table(
        "google_calendar_pushes",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("calendar_event_id", sa.Uuid(), nullable=False),
        sa.Column("google_id", sa.String(length=1024), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.foreign_key(
            "google_calendar_pushes", "integration_id", "integrations", ondelete="CASCADE"
        ),
        ddl.primary_key("google_calendar_pushes"),
        ddl.unique("google_calendar_pushes", "integration_id", "calendar_event_id"),
    )
    op.create_table(
        "google_events",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("google_id", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_all_day", sa.Boolean(), nullable=False),
        sa.Column("google_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calendar_event_id", sa.Uuid(), nullable=True),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.foreign_key("google_events", "integration_id", "integrations", ondelete="CASCADE"),
        ddl.primary_key("google_events"),
        ddl.unique("google_events", "integration_id", "google_id"),
    )
    op.create_table(
        "notion_pages",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("page_id", sa.String(length=64), nullable=False),
        ddl.uuid_id(),
        *ddl.timestamps(),
        ddl.foreign_key("notion_pages", "integration_id", "integrations", ondelete="CASCADE"),
        ddl.primary_key("notion_pages"),
        ddl.unique("notion_pages", "integration_id", "task_id"),
    )
    op.create_table(
        "sync_logs",
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("sync_type", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("records_synced", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        ddl.uuid_id(),
        ddl.created_at(),
        ddl.check(
            "sync_logs", "status", "status IN ('pending','in_progress','completed','failed')"
        ),
        ddl.foreign_key("sync_logs", "integration_id", "integrations", ondelete="CASCADE"),
        ddl.primary_key("sync_logs"),
    )
    ddl.create_index(
        op, "ix_sync_logs_integration_created", "sync_logs", ["integration_id", "created_at", "id"]
    )
    ddl.create_index(
        op, "ix_sync_logs_lease", "sync_logs", ["lease_until"], where="status = 'in_progress'"
    )
    ddl.create_index(
        op, "ix_sync_logs_pending", "sync_logs", ["created_at"], where="status = 'pending'"
    )
    ddl.create_index(
        op,
        "uq_sync_logs_one_running",
        "sync_logs",
        ["integration_id"],
        unique=True,
        where="status IN ('pending','in_progress')",
    )


def downgrade() -> None:
    op.drop_index("uq_sync_logs_one_running", table_name="sync_logs")
    op.drop_index("ix_sync_logs_pending", table_name="sync_logs")
    op.drop_index("ix_sync_logs_lease", table_name="sync_logs")
    op.drop_index("ix_sync_logs_integration_created", table_name="sync_logs")
    op.drop_table("sync_logs")
    op.drop_table("notion_pages")
    op.drop_table("google_events")
    op.drop_table("google_calendar_pushes")
    op.drop_table("github_issue_links")
    op.drop_index("ix_oauth_states_expires_at", table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_index("ix_integrations_user_id", table_name="integrations")
    op.drop_index("ix_integrations_refresh_due", table_name="integrations")
    op.drop_table("integrations")
    op.drop_index("ix_github_deliveries_received_at", table_name="github_deliveries")
    op.drop_table("github_deliveries")
