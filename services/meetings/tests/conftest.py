"""Fixtures of the meetings tests, on top of the shared plugins (``app``/``client``,
``live_client``, ``clock``, ``outbox``, ``deliver``; teams' ``fake_teams``/``team``): a helper
that schedules a meeting through the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from teams_client.testing import Team
from vc_common.testing.plugin import TestUser

Schedule = Callable[..., Awaitable[dict[str, Any]]]


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def schedule() -> Callable[..., Awaitable[dict[str, Any]]]:
    """``await schedule(client, team, by=team.member, start=..., minutes=30, invite=[...])``:
    a meeting of ``team`` scheduled through the API (201), its body."""

    async def make(
        client: httpx.AsyncClient,
        team: Team,
        *,
        by: TestUser | None = None,
        start: datetime,
        minutes: int = 30,
        invite: list[TestUser] | None = None,
        title: str = "Standup",
    ) -> dict[str, Any]:
        host = by or team.member
        r = await client.post(
            f"/api/v1/teams/{team.id}/meetings",
            json={
                "title": title,
                "start_time": iso(start),
                "end_time": iso(start + timedelta(minutes=minutes)),
                "participant_ids": [str(u.id) for u in invite or []],
            },
            headers=host.headers,
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    return make
