"""The service answers its health checks with its database at head; its permission table: an
integration is its owner's alone, and only a team's member may point one at the team."""

from typing import Any

import httpx
import pytest
from teams_client.testing import Team
from vc_common.context import context_for
from vc_common.errors import NotFound
from vc_common.testing.plugin import TestUser


async def test_live_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/livez")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["migrations"] == "head"


async def test_owners_manage_members_link_teams_outsiders_see_nothing(app: Any, team: Team) -> None:
    async def authorize(user: TestUser, team_id: Any, action: str, **kw: Any) -> Any:
        actor = await app.state.verifier.verify(user.token)
        async with app.state.db.sessionmaker() as session:
            return await context_for(app, session, actor).authorize(team_id, action, **kw)

    assert (await authorize(team.member, team.id, "integration.link_team")).role == "member"
    with pytest.raises(NotFound):
        await authorize(team.outsider, team.id, "integration.link_team")
    await authorize(team.member, None, "integration.manage", author_id=team.member.id)
    with pytest.raises(NotFound):
        await authorize(team.member, None, "integration.manage", author_id=team.admin.id)
