"""The files service's files.avatar.updated sets the profile's avatar (and identity announces
the change like any other)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from vc_common.testing.plugin import Deliver, ReadOutbox


async def test_a_new_avatar_from_files_becomes_the_profiles_avatar(
    client: httpx.AsyncClient, api: Any, deliver: Deliver, outbox: ReadOutbox
) -> None:
    acct = await api.signed_in(client)
    file_id = uuid.uuid4()
    url = f"/api/v1/avatars/{file_id}"
    data = {"user_id": str(acct.id), "file_id": str(file_id), "avatar_url": url}
    assert await deliver("files.avatar.updated", data, subject=acct.id)
    me = (await client.get("/api/v1/users/me", headers=acct.headers)).json()
    assert me["profile"]["avatar"] == url
    public = (await client.get(f"/api/v1/users/{acct.id}", headers=acct.headers)).json()
    assert public["profile"]["avatar"] == url
    [updated] = [e for e in await outbox("identity.user.updated") if e["subject"] == str(acct.id)]
    assert updated["data"]["changed_fields"] == ["avatar"]
    assert updated["data"]["avatar"] == url
    # the same event again (or another for an unknown user) changes nothing
    assert await deliver("files.avatar.updated", data, subject=acct.id) is True
    assert len(await outbox("identity.user.updated", subject=acct.id)) == 1
    other = {**data, "user_id": str(uuid.uuid4())}
    assert await deliver("files.avatar.updated", other, subject=other["user_id"])
