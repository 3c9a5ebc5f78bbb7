"""Text PostgreSQL cannot store, values of another JSON type than documented, and a URL longer
than the gateway reads, on the routes where they used to answer 500 (or text/plain): each is a
problem+json 4xx through the gateway, and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.conftest import new_user

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("nats_only")]

NUL = "a\u0000b"
SURROGATE = b'"\\ud800"'  # a lone surrogate, only writable as a JSON escape


def _raw(body: dict[str, Any], field: str) -> bytes:
    """``body`` as JSON with ``field`` holding a lone surrogate."""
    return orjson.dumps({**body, field: "@@"}).replace(b'"@@"', SURROGATE)


async def test_bad_text_is_422_everywhere_it_used_to_be_500(api: httpx.AsyncClient) -> None:
    me = await new_user(api, "nul")
    h = me["headers"]
    team = (await api.post("/api/v1/teams", json={"name": "T"}, headers=h)).json()
    t = f"/api/v1/teams/{team['id']}"
    room = (await api.post(f"{t}/rooms", json={"name": "r"}, headers=h)).json()
    board = (await api.post(f"{t}/boards", json={"name": "b"}, headers=h)).json()
    column = (await api.get(f"/api/v1/boards/{board['id']}", headers=h)).json()["columns"][0]
    task = (
        await api.post(f"/api/v1/columns/{column['id']}/tasks", json={"title": "x"}, headers=h)
    ).json()
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/api/v1/auth/login", {"username": NUL, "password": "x" * 12}, "username"),
        ("POST", "/api/v1/teams", {"name": NUL}, "name"),
        ("POST", f"{t}/rooms", {"name": NUL}, "name"),
        ("POST", f"/api/v1/rooms/{room['id']}/messages", {"content": NUL}, "content"),
        ("POST", f"/api/v1/tasks/{task['id']}/comments", {"content": NUL}, "content"),
        ("POST", "/api/v1/focus/sessions", {"focus_type": "pomodoro", "notes": NUL}, "notes"),
        ("PATCH", "/api/v1/users/me", {"first_name": NUL}, "first_name"),
    ]
    for method, url, body, field in cases:
        for label, kw in (
            ("NUL", {"json": body}),
            ("surrogate", {"content": _raw(body, field)}),
        ):
            r = await api.request(
                method, url, headers={**h, "Content-Type": "application/json"}, **kw
            )
            assert r.status_code == 422, (label, url, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
    r = await api.get(f"{t}/tasks", params={"q": NUL}, headers=h)
    assert r.status_code == 422, r.text
    # nothing was made
    assert [x["name"] for x in (await api.get("/api/v1/teams", headers=h)).json()["items"]] == ["T"]
    assert len((await api.get(f"{t}/rooms", headers=h)).json()["items"]) == 1
    messages = (await api.get(f"/api/v1/rooms/{room['id']}/messages", headers=h)).json()
    assert messages["items"] == []
    assert (await api.get("/api/v1/focus/sessions/current", headers=h)).status_code == 404
    assert (await api.get("/api/v1/users/me", headers=h)).json()["first_name"] == ""


async def test_documented_types_are_held_to(api: httpx.AsyncClient) -> None:
    me = await new_user(api, "strict")
    h = me["headers"]
    team = (await api.post("/api/v1/teams", json={"name": "T"}, headers=h)).json()
    board = (
        await api.post(f"/api/v1/teams/{team['id']}/boards", json={"name": "b"}, headers=h)
    ).json()
    b = f"/api/v1/boards/{board['id']}"
    column = (await api.get(b, headers=h)).json()["columns"][0]
    for body in ({"name": "c", "is_done": 0}, {"name": "c", "order": False}):
        r = await api.post(f"{b}/columns", json=body, headers=h)
        assert r.status_code == 422, r.text
    r = await api.post(
        f"/api/v1/columns/{column['id']}/tasks", json={"title": "t", "position": False}, headers=h
    )
    assert r.status_code == 422, r.text
    r = await api.get("/api/v1/users/me/analytics", params={"to": "0"}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["query", "to"]
    # a partial PATCH changes what it sends and nothing else
    r = await api.patch("/api/v1/users/me", json={"first_name": "Ada", "bio": "b"}, headers=h)
    assert r.status_code == 200, r.text
    r = await api.patch("/api/v1/users/me", json={"last_name": "L"}, headers=h)
    user = r.json()
    assert (user["first_name"], user["last_name"], user["profile"]["bio"]) == ("Ada", "L", "b")
    # nullable fields take null
    r = await api.patch("/api/v1/users/me", json={"birth_date": None}, headers=h)
    assert r.status_code == 200, r.text


async def test_a_long_cursor_is_problem_json(api: httpx.AsyncClient) -> None:
    me = await new_user(api, "cursor")
    for size, statuses in ((5000, {400, 422}), (20000, {414})):
        r = await api.get("/api/v1/teams", params={"cursor": "a" * size}, headers=me["headers"])
        assert r.status_code in statuses, (size, r.status_code, r.text[:200])
        assert r.headers["content-type"] == "application/problem+json"
