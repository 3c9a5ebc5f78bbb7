"""storage_bytes in the team's daily rows: the files service's uploads and deletions, counted
once each, carried from day to day."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from vc_common.ids import uuid7
from vc_common.testing.plugin import Deliver, make_event


def file_event(kind: str, team: uuid.UUID, user: uuid.UUID, fid: str, size: int, day: str) -> Any:
    data: dict[str, Any] = {
        "file_id": fid,
        "team_id": str(team),
        "user_id": str(user),
        "size": size,
        "name": "a.bin",
    }
    if kind == "uploaded":
        data.update(content_type="application/octet-stream", sha256="0" * 64)
    else:
        data.update(reason="deleted", uploaded_by_id=str(user))
    return make_event(
        f"files.file.{kind}",
        data,
        subject=fid,
        time=datetime.fromisoformat(f"{day}T12:00:00+00:00").astimezone(UTC),
    )


@pytest.mark.usefixtures("fake_teams")
async def test_storage_bytes_follow_uploads_and_deletions(
    client: httpx.AsyncClient, make_user: Any, add_member: Any, deliver: Deliver
) -> None:
    member = make_user()
    team = uuid7()
    await add_member(team, member)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    first = file_event("uploaded", team, member.id, a, 1000, "2026-11-20")
    assert await deliver(first)
    assert not await deliver(first)  # the same event twice counts once
    assert await deliver(file_event("uploaded", team, member.id, b, 500, "2026-11-22"))
    assert await deliver(file_event("deleted", team, member.id, a, 1000, "2026-11-23"))
    r = await client.get(
        f"/api/v1/teams/{team}/analytics",
        params={"from": "2026-11-21", "to": "2026-11-24"},
        headers=member.headers,
    )
    assert r.status_code == 200
    got = {d["date"]: d["storage_bytes"] for d in r.json()["items"]}
    assert got == {
        "2026-11-21": 1000,  # carried from the 20th
        "2026-11-22": 1500,
        "2026-11-23": 500,
        "2026-11-24": 500,
    }
