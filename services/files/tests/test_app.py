"""The service answers its health checks with its database at head, and its permission table is
checked through the membership projection (read through to teams on a miss)."""

from typing import Any

import httpx
import pytest
from teams_client.testing import Team
from vc_common.context import context_for
from vc_common.errors import Forbidden, NotFound
from vc_common.testing.plugin import TestUser


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/livez")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["migrations"] == "head"


async def test_members_read_admins_manage_outsiders_see_nothing(app: Any, team: Team) -> None:
    async def authorize(user: TestUser, action: str) -> Any:
        actor = await app.state.verifier.verify(user.token)
        async with app.state.db.sessionmaker() as session:
            return await context_for(app, session, actor).authorize(team.id, action)

    assert (await authorize(team.member, "file.read")).user_id == team.member.id
    assert (await authorize(team.admin, "file.delete")).role == "admin"
    with pytest.raises(Forbidden):
        await authorize(team.member, "file.delete")  # not its uploader, not an admin
    with pytest.raises(NotFound):
        await authorize(team.outsider, "file.read")
