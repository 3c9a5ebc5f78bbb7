"""The teams service's MetaData: its own tables plus the common ones (idempotency keys, outbox,
inbox). Alembic's ``env.py`` imports this module, which imports every table module."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase
from vc_common.events.tables import install_event_tables
from vc_common.models import TYPE_ANNOTATION_MAP, service_metadata
from vc_common.tables import install_common_tables


class Base(DeclarativeBase):
    metadata = service_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


common_tables = install_common_tables(Base.metadata)
event_tables = install_event_tables(Base.metadata)

# register the domain tables on Base.metadata (they import Base from here)
from teams.teams import models as _teams_models  # noqa: E402
from teams.users import models as _users_models  # noqa: E402

__all__ = ["Base", "_teams_models", "_users_models", "common_tables", "event_tables"]
