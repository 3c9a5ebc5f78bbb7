from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(instant: datetime | None) -> str | None:
    """``2026-11-24T18:00:00.123456Z`` (UTC), as every timestamp in events."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
