"""Fixtures of the analytics tests, on top of the shared plugins (``vc_common``: the service,
``deliver``, ``make_event``; ``teams_client``: ``fake_teams``): members and timezones fed to the
service as the events teams and identity publish."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from teams_client.testing import member_added
from vc_common.testing.plugin import Deliver, TestUser, make_event

__all__ = ["Deliver", "make_event"]


@pytest.fixture
def add_member(deliver: Deliver) -> Callable[..., Awaitable[None]]:
    async def add(team_id: uuid.UUID, user: TestUser | uuid.UUID, role: str = "member") -> None:
        await deliver(member_added(team_id, user, role))

    return add


@pytest.fixture
def set_timezone(deliver: Deliver) -> Callable[..., Awaitable[None]]:
    async def set_tz(user_id: uuid.UUID, timezone: str) -> None:
        await deliver(
            "identity.user.updated",
            {
                "user_id": str(user_id),
                "username": f"u{user_id.hex[:6]}",
                "first_name": "",
                "last_name": "",
                "avatar": None,
                "timezone": timezone,
                "changed_fields": ["timezone"],
            },
        )

    return set_tz
