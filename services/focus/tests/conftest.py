"""Fixtures of the focus tests, on top of the shared plugins (the service, ``clock``, ``deliver``,
``outbox``; ``fake_teams``, ``member_added``): identity's timezones, fed to the real consumer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from vc_common.testing.plugin import Deliver, TestUser


@pytest.fixture
def set_timezone(deliver: Deliver) -> Callable[..., Awaitable[None]]:
    """Tell the service a user's profile timezone, as identity does."""

    async def set_tz(user: TestUser, timezone: str | None, *, registered: bool = False) -> None:
        type_ = "identity.user.registered" if registered else "identity.user.updated"
        await deliver(
            type_,
            {
                "user_id": str(user.id),
                "username": user.username,
                "first_name": "",
                "last_name": "",
                "avatar": None,
                "timezone": timezone,
                **(
                    {"email": f"{user.username}@example.com", "date_joined": "2026-11-01T00:00:00Z"}
                    if registered
                    else {"changed_fields": ["timezone"]}
                ),
            },
        )

    return set_tz
