"""integrations's MetaData: its own tables, the platform's (idempotency keys, outbox, inbox) and the
team membership projection. Alembic's env.py imports this module."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase
from teams_client import MembershipProjection
from vc_common.events.tables import install_event_tables
from vc_common.models import TYPE_ANNOTATION_MAP, service_metadata
from vc_common.tables import install_common_tables


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)
membership = MembershipProjection(Base.metadata)

# register the domain tables on Base.metadata (they import Base from here)
from integrations.connections import models as _connections  # noqa: E402
from integrations.github import models as _github  # noqa: E402
from integrations.google import models as _google  # noqa: E402
from integrations.notion import models as _notion  # noqa: E402
from integrations.syncs import models as _syncs  # noqa: E402

__all__ = [
    "Base",
    "_connections",
    "_github",
    "_google",
    "_notion",
    "_syncs",
    "common_tables",
    "event_tables",
    "membership",
]
