from __future__ import annotations

import httpx


async def test_cursor_walks_every_row_once(client: httpx.AsyncClient) -> None:
    names = {f"page-{i}" for i in range(7)}
    for n in names:
        assert (await client.post("/api/v1/widgets", json={"name": n})).status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/v1/widgets", params=params)
        assert r.status_code == 200
        body = r.json()
        assert len(body["items"]) <= 3
        seen += [w["name"] for w in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(names)
    assert pages == 3


async def test_limits_and_bad_cursor(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/widgets", params={"limit": 201})).status_code == 422
    assert (await client.get("/api/v1/widgets", params={"limit": 0})).status_code == 422
    r = await client.get("/api/v1/widgets", params={"cursor": "not-a-cursor"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]
