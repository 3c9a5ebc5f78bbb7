"""The service answers its health checks with its database at head, and its permission table is
checked through the membership projection (read through to teams on a miss)."""

from typing import Any

import httpx
import pytest
from vc_common.context import context_for
from vc_common.errors import NotFound
from vc_common.testing.plugin import TestUser

from .conftest import Team


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/livez")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["migrations"] == "head"


async def test_members_read_presence_outsiders_see_nothing(app: Any, team: Team) -> None:
    async def authorize(user: TestUser, action: str) -> Any:
        actor = await app.state.verifier.verify(user.token)
        async with app.state.db.sessionmaker() as session:
            return await context_for(app, session, actor).authorize(team.id, action)

    assert (await authorize(team.member, "presence.read")).user_id == team.member.id
    assert (await authorize(team.owner, "presence.read")).role == "owner"
    with pytest.raises(NotFound):
        await authorize(team.outsider, "presence.read")
