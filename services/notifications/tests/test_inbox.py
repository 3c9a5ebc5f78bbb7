"""The inbox through the API: the caller's delivered notifications only, newest first,
filtered and paginated; unread count; read and read-all; someone else's is a 404."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from vc_common.testing.plugin import Deliver, MovableClock

from .conftest import Inbox, Person, task_assigned

MakePerson = Callable[..., Awaitable[Person]]
InboxOf = Callable[[Any], Inbox]


async def _assign(deliver: Deliver, clock: MovableClock, who: Person, n: int, **kw: Any) -> None:
    for i in range(n):
        clock.advance(minutes=1)
        await deliver(
            "tasks.task.assigned", task_assigned(who.id, uuid.uuid4(), title=f"t{i}", **kw)
        )


async def test_newest_first_in_pages(
    deliver: Deliver, person: MakePerson, client: httpx.AsyncClient, clock: MovableClock
) -> None:
    me = await person()
    await _assign(deliver, clock, me, 5)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/notifications", params=params, headers=me.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [i["title"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Task assigned: t{i}" for i in (4, 3, 2, 1, 0)]
    r = await client.get("/api/v1/notifications", params={"cursor": "nope"}, headers=me.headers)
    assert r.status_code == 422


async def test_filters(
    deliver: Deliver, person: MakePerson, inbox: InboxOf, clock: MovableClock
) -> None:
    me = await person()
    team = uuid.uuid4()
    await _assign(deliver, clock, me, 2, team_id=team)
    await _assign(deliver, clock, me, 1, priority="urgent")
    box = inbox(me)
    assert [i["team_id"] for i in await box.items(team_id=str(team))] == [str(team)] * 2
    assert [i["notification_type"] for i in await box.items(type="warning")] == ["warning"]
    assert len(await box.items(kind="task.assigned")) == 3
    assert await box.items(kind="chat.mention") == []
    first = (await box.items())[0]
    r = await box.client.post(f"/api/v1/notifications/{first['id']}/read", headers=me.headers)
    assert r.status_code == 200
    assert [i["id"] for i in await box.items(unread="false")] == [first["id"]]
    assert first["id"] not in [i["id"] for i in await box.items(unread="true")]
    for bad in ({"type": "loud"}, {"kind": "nope"}, {"team_id": "x"}, {"limit": 201}):
        r = await box.client.get("/api/v1/notifications", params=bad, headers=me.headers)
        assert r.status_code == 422, bad
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_unread_count_read_and_read_all(
    deliver: Deliver,
    person: MakePerson,
    inbox: InboxOf,
    client: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    me = await person()
    await _assign(deliver, clock, me, 4)
    box = inbox(me)
    assert await box.unread() == 4
    items = await box.items()
    oldest = items[-1]

    r = await client.post(f"/api/v1/notifications/{oldest['id']}/read", headers=me.headers)
    assert r.status_code == 200, r.text
    assert r.json()["is_read"] is True
    assert r.json()["read_at"] == "2026-11-24T09:04:00Z"
    clock.advance(minutes=10)
    again = await client.post(f"/api/v1/notifications/{oldest['id']}/read", headers=me.headers)
    assert again.json()["read_at"] == "2026-11-24T09:04:00Z"  # read once
    assert await box.unread() == 3

    # read-all before the second newest: the newest stays unread
    r = await client.post(
        "/api/v1/notifications/read-all",
        json={"before": items[1]["created_at"]},
        headers=me.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"marked_read": 2}
    assert [i["id"] for i in await box.items(unread="true")] == [items[0]["id"]]
    r = await client.post("/api/v1/notifications/read-all", headers=me.headers)
    assert r.json() == {"marked_read": 1}
    assert await box.unread() == 0
    r = await client.post(
        "/api/v1/notifications/read-all", json={"before": "yesterday"}, headers=me.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][:2] == ["body", "before"]


async def test_someone_elses_or_an_unknown_notification_is_not_found(
    deliver: Deliver, person: MakePerson, inbox: InboxOf, client: httpx.AsyncClient
) -> None:
    me, other = await person(), await person()
    await deliver("tasks.task.assigned", task_assigned(me.id, uuid.uuid4()))
    [mine] = await inbox(me).items()
    for path in (f"/api/v1/notifications/{mine['id']}", f"/api/v1/notifications/{mine['id']}/read"):
        r = await (
            client.get(path, headers=other.headers)
            if "read" not in path
            else client.post(path, headers=other.headers)
        )
        assert r.status_code == 404, path
        assert r.json()["detail"] == "Notification not found."
    r = await client.post(f"/api/v1/notifications/{uuid.uuid4()}/read", headers=me.headers)
    assert r.status_code == 404
    r = await client.post("/api/v1/notifications/not-an-id/read", headers=me.headers)
    assert r.status_code == 422
    assert (await inbox(me).items())[0]["is_read"] is False  # nothing written
    r = await client.post("/api/v1/notifications/read-all", headers=other.headers)
    assert r.json() == {"marked_read": 0}
    assert await inbox(me).unread() == 1


async def test_every_route_needs_a_token(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/notifications/unread-count"),
        ("POST", "/api/v1/notifications/read-all"),
        ("GET", "/api/v1/notifications/preferences"),
        ("PUT", "/api/v1/notifications/preferences"),
    ):
        r = await client.request(method, path)
        assert r.status_code == 401, path
