"""Identifiers: UUIDv7, so that ids sort by creation time."""

from __future__ import annotations

import uuid

import uuid_utils


def uuid7() -> uuid.UUID:
    """A new UUIDv7 as a standard-library UUID (SQLAlchemy and pydantic expect that type)."""
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)
