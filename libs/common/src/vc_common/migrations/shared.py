"""The schema of the tables every service has, defined once, applied by each service's revisions.

Each function is one step of that schema's history, frozen once released: a service's revision
calls the steps it adds, so a change made here later never rewrites what an applied revision did.
A new service calls :func:`create_all` (every step, in order) from its first revision.

==========================  ===================================================  =====
step                        what                                                 since
==========================  ===================================================  =====
``create_platform_tables``  ``idempotency_keys``, ``inbox``, ``outbox`` and its  0001
                            pending-claim index
``add_outbox_indexes``      the relay's partial indexes on pending rows          0002
==========================  ===================================================  =====

The SQLAlchemy ``Table`` objects the code uses are in :mod:`vc_common.tables` and
:mod:`vc_common.events.tables`; the migration check (``vc_common.testing.migrations``) proves the
two agree for every service.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from vc_common.migrations import ddl

PENDING = "sent_at IS NULL AND dead_at IS NULL"


def create_platform_tables(op: Any) -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        ddl.created_at(),
        ddl.primary_key("idempotency_keys", "principal", "key"),
    )
    ddl.create_index(op, "ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        ddl.timestamp_now("processed_at"),
        ddl.primary_key("inbox", "consumer", "event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        ddl.created_at(),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        ddl.timestamp_now("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        ddl.primary_key("outbox", "seq"),
        ddl.unique("outbox", "id"),
    )
    ddl.create_index(op, "ix_outbox_pending", "outbox", ["next_attempt_at", "seq"], where=PENDING)


def drop_platform_tables(op: Any) -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")


def add_outbox_indexes(op: Any) -> None:
    """The relay claims pending rows in ``seq`` order, and checks per subject that no earlier
    row of the subject is pending: both from the pending rows only, not past every sent row kept
    for retention."""
    ddl.create_index(op, "ix_outbox_pending_seq", "outbox", ["seq"], where=PENDING)
    ddl.create_index(op, "ix_outbox_pending_subject", "outbox", ["subject", "seq"], where=PENDING)


def drop_outbox_indexes(op: Any) -> None:
    op.drop_index("ix_outbox_pending_subject", table_name="outbox")
    op.drop_index("ix_outbox_pending_seq", table_name="outbox")


def create_all(op: Any) -> None:
    """Every step, in order: a new service's first revision."""
    create_platform_tables(op)
    add_outbox_indexes(op)


def drop_all(op: Any) -> None:
    drop_outbox_indexes(op)
    drop_platform_tables(op)
