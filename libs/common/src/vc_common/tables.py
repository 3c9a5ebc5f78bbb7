"""Tables every service database has besides its own: the idempotency store.

The event backbone adds ``outbox`` and ``inbox`` the same way (``vc_common.events.tables``).
Each service calls :func:`install_common_tables` on its own ``MetaData`` so that its Alembic
migrations create them next to its own tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class CommonTables:
    idempotency_keys: Table


_installed: dict[int, CommonTables] = {}


def install_common_tables(metadata: MetaData) -> CommonTables:
    key = id(metadata)
    if key in _installed:
        return _installed[key]
    idem = Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(100), nullable=False),
        Column("key", String(255), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("headers", JSONB, nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column(
            "created_at",
            DateTime(timezone=True),
            server_default=func.now(),
            nullable=False,
            index=True,
        ),
        PrimaryKeyConstraint("principal", "key"),
    )
    tables = CommonTables(idempotency_keys=idem)
    _installed[key] = tables
    return tables
