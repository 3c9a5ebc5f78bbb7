"""The permission table (``tasks.permissions``) through every route: for each route, who gets
through and who gets 403 (a member the rule refuses), 404 (not a member of the team: an admin of
another team, a user of no team) or 401 (no token). A refused request changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from tasks.permissions import PERMISSIONS
from teams_client.testing import Team
from vc_common.testing.plugin import ReadOutbox, TestUser

from .kanban import create_board, create_label, create_task

ROLES = ("owner", "admin", "member", "other", "stranger_admin", "outsider", "anonymous")
MEMBERS = frozenset({"owner", "admin", "member", "other"})
ADMINS = frozenset({"owner", "admin"})
AUTHOR = frozenset({"member"})  # the world's comment and attachment are the member's


@dataclass
class World:
    """A team's board with a task in To do (and its subtask, comment, attachment: all by
    ``team.member``), an empty In progress column, a label; and an admin of another team."""

    team: Team
    stranger: TestUser
    ids: dict[str, str]

    def user(self, role: str) -> TestUser | None:
        if role == "anonymous":
            return None
        if role == "stranger_admin":
            return self.stranger
        user: TestUser = getattr(self.team, role)
        return user


MakeWorld = Callable[[], Awaitable[World]]


@pytest_asyncio.fixture
async def make_world(client: httpx.AsyncClient, make_team: Callable[[], Team]) -> MakeWorld:
    async def make() -> World:
        team = make_team()
        board = await create_board(client, team)
        todo, doing = board["columns"][0]["id"], board["columns"][1]["id"]
        task = (await create_task(client, todo, team.member))["id"]
        h = team.member.headers
        posts = {
            "subtask": ("subtasks", {"title": "s"}),
            "comment": ("comments", {"content": "c"}),
            "attachment": ("attachments", {"file_url": "https://x.example/f", "filename": "f"}),
        }
        ids = {"team": str(team.id), "board": board["id"], "todo": todo, "doing": doing}
        ids["task"] = task
        for name, (path, body) in posts.items():
            r = await client.post(f"/api/v1/tasks/{task}/{path}", json=body, headers=h)
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        ids["label"] = (await create_label(client, team))["id"]
        return World(team, make_team().admin, ids)

    return make


@dataclass(frozen=True)
class Case:
    action: str  # the row of the permission table the route checks
    method: str
    path: str  # "{task}" etc. are the world's ids
    allowed: frozenset[str]
    status: int
    body: Any = None
    destructive: bool = False  # it cannot be done twice: each allowed role gets its own world

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


CASES = [
    # members read everything of their team
    Case("board.read", "GET", "/teams/{team}/boards", MEMBERS, 200),
    Case("board.read", "GET", "/boards/{board}", MEMBERS, 200),
    Case("board.read", "GET", "/columns/{todo}", MEMBERS, 200),
    Case("board.read", "GET", "/teams/{team}/tasks", MEMBERS, 200),
    Case("board.read", "GET", "/tasks/{task}", MEMBERS, 200),
    Case("board.read", "GET", "/tasks/{task}/activity", MEMBERS, 200),
    Case("board.read", "GET", "/tasks/{task}/subtasks", MEMBERS, 200),
    Case("board.read", "GET", "/subtasks/{subtask}", MEMBERS, 200),
    Case("board.read", "GET", "/tasks/{task}/attachments", MEMBERS, 200),
    Case("board.read", "GET", "/tasks/{task}/comments", MEMBERS, 200),
    Case("board.read", "GET", "/comments/{comment}", MEMBERS, 200),
    Case("label.read", "GET", "/teams/{team}/labels", MEMBERS, 200),
    Case("label.read", "GET", "/labels/{label}", MEMBERS, 200),
    # ... and create content
    Case("task.write", "POST", "/columns/{todo}/tasks", MEMBERS, 201, {"title": "t"}),
    Case("task.write", "PATCH", "/tasks/{task}", MEMBERS, 200, {"title": "renamed"}),
    Case(
        "task.write",
        "POST",
        "/tasks/{task}/move",
        MEMBERS,
        200,
        {"column_id": "{doing}", "position": 0},
    ),
    Case("task.write", "PUT", "/tasks/{task}/labels", MEMBERS, 200, {"label_ids": ["{label}"]}),
    Case("task.write", "DELETE", "/tasks/{task}", MEMBERS, 204, destructive=True),
    Case("subtask.write", "POST", "/tasks/{task}/subtasks", MEMBERS, 201, {"title": "s2"}),
    Case("subtask.write", "PATCH", "/subtasks/{subtask}", MEMBERS, 200, {"is_completed": True}),
    Case("subtask.write", "DELETE", "/subtasks/{subtask}", MEMBERS, 204, destructive=True),
    Case(
        "attachment.add",
        "POST",
        "/tasks/{task}/attachments",
        MEMBERS,
        201,
        {"file_url": "https://x.example/g", "filename": "g"},
    ),
    Case("comment.add", "POST", "/tasks/{task}/comments", MEMBERS, 201, {"content": "c2"}),
    # admins manage boards, columns and labels
    Case("board.manage", "POST", "/teams/{team}/boards", ADMINS, 201, {"name": "b"}),
    Case("board.manage", "PATCH", "/boards/{board}", ADMINS, 200, {"name": "b2"}),
    Case("board.manage", "DELETE", "/boards/{board}", ADMINS, 204, destructive=True),
    Case("board.manage", "POST", "/boards/{board}/columns", ADMINS, 201, {"name": "c"}),
    Case("board.manage", "PATCH", "/columns/{doing}", ADMINS, 200, {"name": "Doing"}),
    Case("board.manage", "DELETE", "/columns/{doing}", ADMINS, 204, destructive=True),
    Case(
        "label.manage",
        "POST",
        "/teams/{team}/labels",
        ADMINS,
        201,
        {"name": "new", "color": "#00ff00"},
        destructive=True,  # a second "new" would be a conflict
    ),
    Case("label.manage", "PATCH", "/labels/{label}", ADMINS, 200, {"name": "renamed"}),
    Case("label.manage", "DELETE", "/labels/{label}", ADMINS, 204, destructive=True),
    # only a comment's author edits it; its author or an admin deletes it (an attachment too)
    Case("comment.edit", "PATCH", "/comments/{comment}", AUTHOR, 200, {"content": "edited"}),
    Case("comment.delete", "DELETE", "/comments/{comment}", AUTHOR | ADMINS, 204, destructive=True),
    Case(
        "attachment.delete",
        "DELETE",
        "/tasks/{task}/attachments/{attachment}",
        AUTHOR | ADMINS,
        204,
        destructive=True,
    ),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def _call(client: httpx.AsyncClient, case: Case, world: World, role: str) -> httpx.Response:
    user = world.user(role)
    return await client.request(
        case.method,
        "/api/v1" + _fill(case.path, world.ids),
        json=_fill(case.body, world.ids),
        headers=user.headers if user else {},
    )


async def _state(client: httpx.AsyncClient, world: World, outbox: ReadOutbox) -> list[Any]:
    """What a refused request must leave as it was (read by the owner)."""
    h, ids = world.team.owner.headers, world.ids
    reads = [
        f"/api/v1/teams/{ids['team']}/boards",
        f"/api/v1/boards/{ids['board']}",
        f"/api/v1/tasks/{ids['task']}",
        f"/api/v1/tasks/{ids['task']}/comments",
        f"/api/v1/tasks/{ids['task']}/activity",
        f"/api/v1/teams/{ids['team']}/labels",
    ]
    answers = [(await client.get(url, headers=h)).json() for url in reads]
    events = [e["id"] for e in await outbox() if e["data"].get("team_id") == ids["team"]]
    return [*answers, events]


def _expected(case: Case, role: str) -> int:
    if role == "anonymous":
        return 401
    if role in ("stranger_admin", "outsider"):
        return 404
    return case.status if role in case.allowed else 403


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_who_may_do_what(
    client: httpx.AsyncClient, make_world: MakeWorld, outbox: ReadOutbox, case: Case
) -> None:
    world = await make_world()
    refused = [r for r in ROLES if r not in case.allowed]
    before = await _state(client, world, outbox)
    for role in refused:
        r = await _call(client, case, world, role)
        assert r.status_code == _expected(case, role), (role, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert await _state(client, world, outbox) == before
    for role in sorted(case.allowed):
        target = await make_world() if case.destructive else world
        r = await _call(client, case, target, role)
        assert r.status_code == case.status, (role, r.text)


def test_every_rule_of_the_table_is_exercised() -> None:
    assert {c.action for c in CASES} == set(PERMISSIONS)


@pytest.mark.parametrize(
    "path",
    [
        "/boards/{board}",
        "/columns/{todo}",
        "/tasks/{task}",
        "/subtasks/{subtask}",
        "/comments/{comment}",
        "/labels/{label}",
        "/teams/{team}/boards",
    ],
)
async def test_an_outsider_cannot_tell_a_resource_exists(
    client: httpx.AsyncClient, make_world: MakeWorld, path: str
) -> None:
    """Another team's resource answers exactly as a missing one does."""
    world = await make_world()
    missing = dict.fromkeys(world.ids, "0190a0b0-0000-7000-8000-000000000000")
    theirs = await client.get("/api/v1" + path.format(**world.ids), headers=world.stranger.headers)
    nothing = await client.get("/api/v1" + path.format(**missing), headers=world.stranger.headers)
    assert theirs.status_code == nothing.status_code == 404

    def without_instance(r: httpx.Response) -> dict[str, Any]:
        body: dict[str, Any] = r.json()
        body.pop("instance", None)
        return body

    assert without_instance(theirs) == without_instance(nothing)
