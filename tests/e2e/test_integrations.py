"""End to end through the gateway: a user connects GitHub against the provider sandbox that
`make run` starts (its authorize page approved as a browser would, the redirect followed to the
gateway's callback), chooses a repository and a board, syncs, and sees the SyncLog completed and
the issue as a task on the board: the tasks were made through the tasks API as that user, with
the token integrations got from identity's token exchange."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.conftest import new_user

pytestmark = pytest.mark.e2e


@pytest.mark.usefixtures("nats_only")
async def test_connect_github_sync_and_see_the_sync_log(api: httpx.AsyncClient) -> None:
    me = await new_user(api, "octo")
    h = me["headers"]
    team = (await api.post("/api/v1/teams", json={"name": "Octo"}, headers=h)).json()
    board = await api.post(f"/api/v1/teams/{team['id']}/boards", json={"name": "Bugs"}, headers=h)
    assert board.status_code == 201, board.text
    board_id = board.json()["id"]

    r = await api.post("/api/v1/integrations/github/connect", json={}, headers=h)
    assert r.status_code == 200, r.text
    authorize = r.json()["authorization_url"]
    sandbox = "{0.scheme}://{0.netloc}".format(urlsplit(authorize))
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(authorize)
        assert page.status_code == 200
        assert "Approve" in page.text
        form = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
        approved = await browser.post(authorize.split("?")[0], data={**form, "decision": "approve"})
        assert approved.status_code == 302
        back = approved.headers["location"]
        assert back.startswith(f"{api.base_url}/api/v1/integrations/github/callback?")
        repo = f"octo/e2e-{uuid.uuid4().hex[:6]}"
        seeded = await browser.post(
            f"{sandbox}/_sandbox/github/repos/{repo}/issues", json={"title": "Login is broken"}
        )
        assert seeded.status_code == 201
    cb = await api.get(back)  # a browser redirected by the provider: no bearer token
    assert cb.status_code == 200, cb.text
    integration = cb.json()
    assert (integration["status"], integration["integration_type"]) == ("connected", "github")
    listed = (await api.get("/api/v1/integrations", headers=h)).json()["items"]
    assert [i["id"] for i in listed] == [integration["id"]]
    assert "access_token" not in str(listed)

    cfg = await api.patch(
        f"/api/v1/integrations/{integration['id']}",
        json={"config": {"repository": repo, "board_id": board_id}},
        headers=h,
    )
    assert cfg.status_code == 200, cfg.text
    sync = await api.post(f"/api/v1/integrations/{integration['id']}/sync", json={}, headers=h)
    assert sync.status_code == 202, sync.text
    assert sync.json()["status"] == "pending"

    deadline = time.monotonic() + 20
    while True:
        logs = (
            await api.get(f"/api/v1/integrations/{integration['id']}/sync-logs", headers=h)
        ).json()["items"]
        if logs and logs[0]["status"] in ("completed", "failed"):
            break
        assert time.monotonic() < deadline, logs
        await asyncio.sleep(0.3)
    assert logs[0]["status"] == "completed", logs[0]
    assert logs[0]["records_synced"] == 1
    detail = (await api.get(f"/api/v1/boards/{board_id}", headers=h)).json()
    titles = [t["title"] for c in detail["columns"] for t in c["tasks"]]
    assert titles == ["Login is broken"]

    # GitHub's webhook for a new issue, signed, through the gateway: a sync runs by itself
    async with httpx.AsyncClient(timeout=10) as gh:
        await gh.post(
            f"{sandbox}/_sandbox/github/repos/{repo}/issues", json={"title": "Typo in footer"}
        )
    raw = json.dumps({"action": "opened", "repository": {"full_name": repo}}).encode()
    signature = "sha256=" + hmac.new(b"development-webhook-secret", raw, hashlib.sha256).hexdigest()
    hook_headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    forged = await api.post(
        "/api/v1/integrations/webhooks/github",
        content=raw,
        headers={**hook_headers, "X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    assert forged.status_code == 401
    hook = await api.post(
        "/api/v1/integrations/webhooks/github",
        content=raw,
        headers={**hook_headers, "X-Hub-Signature-256": signature},
    )
    assert hook.status_code == 202, hook.text
    assert hook.json()["syncs_started"] == 1
    deadline = time.monotonic() + 20
    while True:
        logs = (
            await api.get(f"/api/v1/integrations/{integration['id']}/sync-logs", headers=h)
        ).json()["items"]
        if len(logs) == 2 and logs[0]["status"] in ("completed", "failed"):
            break
        assert time.monotonic() < deadline, logs
        await asyncio.sleep(0.3)
    assert (logs[0]["trigger"], logs[0]["status"], logs[0]["records_synced"]) == (
        "webhook",
        "completed",
        1,
    )


async def _connect(
    api: httpx.AsyncClient, h: dict[str, str], kind: str
) -> tuple[dict[str, Any], str]:
    r = await api.post(f"/api/v1/integrations/{kind}/connect", json={}, headers=h)
    assert r.status_code == 200, r.text
    authorize = r.json()["authorization_url"]
    form = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    async with httpx.AsyncClient(timeout=10) as browser:
        approved = await browser.post(authorize.split("?")[0], data={**form, "decision": "approve"})
    assert approved.status_code == 302, approved.text
    cb = await api.get(approved.headers["location"], headers=h)
    assert cb.status_code == 200, cb.text
    return cb.json(), "{0.scheme}://{0.netloc}".format(urlsplit(authorize))


@pytest.mark.usefixtures("nats_only")
async def test_the_other_five_connect_and_sync_and_slack_hears_a_completed_task(
    api: httpx.AsyncClient,
) -> None:
    me = await new_user(api, "five")
    h = me["headers"]
    team = (await api.post("/api/v1/teams", json={"name": "Five"}, headers=h)).json()
    made = await api.post(f"/api/v1/teams/{team['id']}/boards", json={"name": "B"}, headers=h)
    board = (await api.get(f"/api/v1/boards/{made.json()['id']}", headers=h)).json()
    columns = {c["name"]: c for c in board["columns"]}
    task = await api.post(
        f"/api/v1/columns/{columns['To do']['id']}/tasks", json={"title": "Ship it"}, headers=h
    )
    assert task.status_code == 201, task.text
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    config = {
        "google_calendar": {},
        "slack": {"channel": channel, "team_id": team["id"]},
        "notion": {"database_id": str(uuid.uuid4()), "board_id": board["id"]},
        "zoom": {},
        "microsoft_teams": {},
    }
    ids = {}
    sandbox = ""
    for kind, cfg in config.items():
        integration, sandbox = await _connect(api, h, kind)
        if cfg:
            r = await api.patch(
                f"/api/v1/integrations/{integration['id']}", json={"config": cfg}, headers=h
            )
            assert r.status_code == 200, r.text
        r = await api.post(f"/api/v1/integrations/{integration['id']}/sync", json={}, headers=h)
        assert r.status_code == 202, (kind, r.text)
        ids[kind] = integration["id"]
    deadline = time.monotonic() + 20
    pending = dict(ids)
    while pending:
        for kind, iid in list(pending.items()):
            logs = (await api.get(f"/api/v1/integrations/{iid}/sync-logs", headers=h)).json()
            status = logs["items"][0]["status"]
            if status in ("completed", "failed"):
                assert status == "completed", (kind, logs["items"][0])
                del pending[kind]
        assert time.monotonic() < deadline, pending
        await asyncio.sleep(0.3)

    # a task completed on the board reaches the Slack channel through tasks' event
    moved = await api.post(
        f"/api/v1/tasks/{task.json()['id']}/move",
        json={"column_id": columns["Done"]["id"], "position": 0},
        headers=h,
    )
    assert moved.status_code == 200, moved.text
    async with httpx.AsyncClient(base_url=sandbox, timeout=10) as sb:
        deadline = time.monotonic() + 15
        while True:
            texts = [
                m["text"]
                for m in (await sb.get("/_sandbox/slack/messages")).json()
                if m["channel"] == channel
            ]
            if texts:
                break
            assert time.monotonic() < deadline, "no Slack message"
            await asyncio.sleep(0.3)
    assert texts == [":white_check_mark: Task completed: *Ship it*"]
