"""The full role matrix: owner, admin, member and outsider against every route.

The team: owner ``O`` (creator), a second owner ``O2``, admin ``A``, member ``M``, target member
``T``; ``X`` is an outsider; ``N`` a known user who is not a member yet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from vc_common.testing.plugin import TestUser

MakeTeam = Callable[..., Awaitable[dict[str, Any]]]


@dataclass
class Cast:
    team: dict[str, Any]
    people: dict[str, TestUser]


@pytest.fixture
async def cast(
    make_user: Callable[..., TestUser],
    make_team: MakeTeam,
    known: Callable[[TestUser], Awaitable[TestUser]],
) -> Cast:
    people = {
        k: make_user(k.lower() + "-" + make_user().username)
        for k in ("O", "O2", "A", "M", "T", "X", "N")
    }
    team = await make_team(
        people["O"],
        [
            (people["O2"], "owner"),
            (people["A"], "admin"),
            (people["M"], "member"),
            (people["T"], "member"),
        ],
    )
    await known(people["N"])
    return Cast(team, people)


ACTORS = {"owner": "O", "admin": "A", "member": "M", "outsider": "X"}

# route name -> (method, path template, body template, expected status by actor)
ROUTES: dict[str, tuple[str, str, dict[str, str] | None, dict[str, int]]] = {
    "get team": (
        "GET",
        "/api/v1/teams/{team}",
        None,
        {"owner": 200, "admin": 200, "member": 200, "outsider": 404},
    ),
    "update team": (
        "PATCH",
        "/api/v1/teams/{team}",
        {"name": "Renamed"},
        {"owner": 200, "admin": 200, "member": 403, "outsider": 404},
    ),
    "delete team": (
        "DELETE",
        "/api/v1/teams/{team}",
        None,
        {"owner": 204, "admin": 403, "member": 403, "outsider": 404},
    ),
    "list members": (
        "GET",
        "/api/v1/teams/{team}/members",
        None,
        {"owner": 200, "admin": 200, "member": 200, "outsider": 404},
    ),
    "get member": (
        "GET",
        "/api/v1/teams/{team}/members/{T}",
        None,
        {"owner": 200, "admin": 200, "member": 200, "outsider": 404},
    ),
    "add member": (
        "POST",
        "/api/v1/teams/{team}/members",
        {"user_id": "{N}"},
        {"owner": 201, "admin": 201, "member": 403, "outsider": 404},
    ),
    "add admin": (
        "POST",
        "/api/v1/teams/{team}/members",
        {"user_id": "{N}", "role": "admin"},
        {"owner": 201, "admin": 201, "member": 403, "outsider": 404},
    ),
    "add owner": (
        "POST",
        "/api/v1/teams/{team}/members",
        {"user_id": "{N}", "role": "owner"},
        {"owner": 201, "admin": 403, "member": 403, "outsider": 404},
    ),
    "promote member to admin": (
        "PATCH",
        "/api/v1/teams/{team}/members/{T}",
        {"role": "admin"},
        {"owner": 200, "admin": 200, "member": 403, "outsider": 404},
    ),
    "promote member to owner": (
        "PATCH",
        "/api/v1/teams/{team}/members/{T}",
        {"role": "owner"},
        {"owner": 200, "admin": 403, "member": 403, "outsider": 404},
    ),
    "demote an owner": (
        "PATCH",
        "/api/v1/teams/{team}/members/{O2}",
        {"role": "member"},
        {"owner": 200, "admin": 403, "member": 403, "outsider": 404},
    ),
    "remove member": (
        "DELETE",
        "/api/v1/teams/{team}/members/{T}",
        None,
        {"owner": 204, "admin": 204, "member": 403, "outsider": 404},
    ),
    "remove an owner": (
        "DELETE",
        "/api/v1/teams/{team}/members/{O2}",
        None,
        {"owner": 204, "admin": 403, "member": 403, "outsider": 404},
    ),
    "leave": (
        "DELETE",
        "/api/v1/teams/{team}/members/{me}",
        None,
        {"owner": 204, "admin": 204, "member": 204, "outsider": 404},
    ),
    "transfer ownership": (
        "POST",
        "/api/v1/teams/{team}/transfer-ownership",
        {"user_id": "{T}"},
        {"owner": 200, "admin": 403, "member": 403, "outsider": 404},
    ),
}


def _fill(template: str, cast: Cast, me: TestUser) -> str:
    values = {k: str(u.id) for k, u in cast.people.items()}
    return template.format(team=cast.team["id"], me=me.id, **values)


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("route", list(ROUTES))
async def test_role_matrix(client: httpx.AsyncClient, cast: Cast, actor: str, route: str) -> None:
    method, path, body, expected = ROUTES[route]
    me = cast.people[ACTORS[actor]]
    json = {k: _fill(v, cast, me) for k, v in body.items()} if body is not None else None
    resp = await client.request(method, _fill(path, cast, me), json=json, headers=me.headers)
    assert resp.status_code == expected[actor], resp.text
    if resp.status_code >= 400:
        assert resp.headers["content-type"] == "application/problem+json"
    # a refused change changed nothing
    if resp.status_code in (403, 404):
        members = await client.get(
            f"/api/v1/teams/{cast.team['id']}/members", headers=cast.people["O"].headers
        )
        assert {(m["user_id"], m["role"]) for m in members.json()["items"]} == {
            (str(cast.people[k].id), r)
            for k, r in (
                ("O", "owner"),
                ("O2", "owner"),
                ("A", "admin"),
                ("M", "member"),
                ("T", "member"),
            )
        }
