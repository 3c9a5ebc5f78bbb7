"""SyncLog: pending → in_progress → completed | failed, one running per integration, someone
else's integration 404, and a crash mid-sync ends failed with a reason (the sweeper)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from vc_common.jobs import run_job
from vc_common.testing.plugin import MovableClock, ReadOutbox, TestUser

from .conftest import Connect, Sandbox, eventually, oauth_connect


async def test_a_sync_goes_pending_then_completed(
    app: Any, client: httpx.AsyncClient, user: TestUser, connect: Connect, outbox: ReadOutbox
) -> None:
    got = await connect(user, "zoom")
    r = await client.post(f"/api/v1/integrations/{got['id']}/sync", json={}, headers=user.headers)
    assert r.status_code == 202, r.text
    log = r.json()
    assert (log["status"], log["sync_type"], log["trigger"]) == (
        "pending",
        "account_check",
        "manual",
    )
    assert log["started_at"] is None
    again = await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
    assert again.status_code == 409
    assert await run_job(app, "syncs") == 1
    logs = (
        await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    ).json()["items"]
    assert [(x["id"], x["status"], x["records_synced"]) for x in logs] == [
        (log["id"], "completed", 1)
    ]
    assert logs[0]["started_at"]
    assert logs[0]["completed_at"]
    [done] = await outbox("integrations.sync.completed")
    assert done["data"]["sync_log_id"] == log["id"]
    listed = (await client.get("/api/v1/integrations", headers=user.headers)).json()["items"]
    assert listed[0]["last_sync"] is not None
    # after it finished, another may start
    assert (
        await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
    ).status_code == 202


async def test_someone_elses_integration_is_404(
    client: httpx.AsyncClient, make_user: Any, connect: Connect
) -> None:
    owner, other = make_user(), make_user()
    got = await connect(owner, "microsoft_teams")
    for method, path in (
        ("POST", f"/api/v1/integrations/{got['id']}/sync"),
        ("GET", f"/api/v1/integrations/{got['id']}/sync-logs"),
        ("GET", f"/api/v1/integrations/{got['id']}"),
        ("PATCH", f"/api/v1/integrations/{got['id']}"),
        ("POST", f"/api/v1/integrations/{uuid.uuid4()}/sync"),
    ):
        r = await client.request(method, path, json={}, headers=other.headers)
        assert r.status_code == 404, (method, path, r.text)


async def test_bad_sync_input_is_a_422_problem(
    client: httpx.AsyncClient, user: TestUser, connect: Connect
) -> None:
    got = await connect(user, "github")
    r = await client.post(
        f"/api/v1/integrations/{got['id']}/sync", json={"sync_type": "bogus"}, headers=user.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "sync_type"]
    no_config = await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
    assert no_config.status_code == 422
    assert "repository" in no_config.json()["detail"]
    bad = await client.patch(
        f"/api/v1/integrations/{got['id']}",
        json={"config": {"repository": "not a repo"}},
        headers=user.headers,
    )
    assert bad.status_code == 422
    logs = await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    assert logs.json()["items"] == []


async def test_a_provider_failure_fails_the_log_with_its_reason(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    sandbox_http: httpx.AsyncClient,
    outbox: ReadOutbox,
) -> None:
    got = await connect(user, "zoom")
    await sandbox_http.post(
        "/_sandbox/fail", json={"provider": "zoom", "kind": "api", "status": 502}
    )
    await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
    await run_job(app, "syncs")
    [log] = (
        await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    ).json()["items"]
    assert log["status"] == "failed"
    assert log["error_message"] == "zoom answered 502: 502"
    [failed] = await outbox("integrations.sync.failed")
    assert failed["data"]["error_message"] == log["error_message"]


async def test_a_sync_refreshes_an_expiring_token_first(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    sandbox: Sandbox,
    clock: MovableClock,
) -> None:
    got = await connect(user, "microsoft_teams")
    clock.advance(minutes=59, seconds=30)  # the refresher has not run
    calls = sandbox.state.token_calls.get("microsoft", 0)
    await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
    await run_job(app, "syncs")
    [log] = (
        await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    ).json()["items"]
    assert log["status"] == "completed"
    assert sandbox.state.token_calls["microsoft"] == calls + 1


async def test_a_crash_mid_sync_ends_failed_with_a_reason(
    live_app: Any,
    live_client: httpx.AsyncClient,
    make_user: Any,
    sandbox_http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    """A worker killed while the provider is answering (its connection, and so its lock on
    the log, dies with it): the log is in_progress, then the sweeper fails it with the reason
    once its lease passed, and a new sync may start."""
    user = make_user()
    got = await oauth_connect(live_client, user, "zoom")
    try:
        await sandbox_http.post("/_sandbox/config", json={"delays": {"zoom-api": 5}})
        r = await live_client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
        assert r.status_code == 202
        worker = asyncio.create_task(run_job(live_app, "syncs"))

        async def status() -> str:
            logs = await live_client.get(
                f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers
            )
            return str(logs.json()["items"][0]["status"])

        deadline = asyncio.get_running_loop().time() + 20
        while asyncio.get_running_loop().time() < deadline:
            if await status() == "in_progress":
                break
            await asyncio.sleep(0.05)
        assert await status() == "in_progress"
        await asyncio.sleep(0.3)  # now inside the provider call
        worker.cancel()  # the crash
        await asyncio.gather(worker, return_exceptions=True)
        assert await run_job(live_app, "sync-sweeper") == 0  # the lease has not passed
        assert await status() == "in_progress"
        blocked = await live_client.post(
            f"/api/v1/integrations/{got['id']}/sync", headers=user.headers
        )
        assert blocked.status_code == 409
        clock.advance(minutes=16)
        # the dead worker's connection (and its lock) may take a moment to be gone, as a
        # crashed process's would: the sweeper, which runs every minute, takes it then
        swept = await eventually(lambda: run_job(live_app, "sync-sweeper"), within=10)
        assert swept == 1
        [log] = (
            await live_client.get(
                f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers
            )
        ).json()["items"]
        assert log["status"] == "failed"
        assert log["error_message"].startswith("interrupted")
        assert log["completed_at"] is not None
        await sandbox_http.post("/_sandbox/config", json={"delays": {"zoom-api": 0}})
        again = await live_client.post(
            f"/api/v1/integrations/{got['id']}/sync", headers=user.headers
        )
        assert again.status_code == 202
        assert await run_job(live_app, "syncs") == 1
    finally:
        await sandbox_http.post("/_sandbox/config", json={"delays": {"zoom-api": 0}})
        async with live_app.state.db.unit_of_work() as s:
            await s.execute(text("DELETE FROM integrations WHERE id = :i"), {"i": got["id"]})


async def test_the_schedule_starts_syncs_of_configured_integrations(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
) -> None:
    got = await connect(user, "google_calendar")
    await run_job(app, "schedule")
    [log] = (
        await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    ).json()["items"]
    assert (log["trigger"], log["sync_type"], log["status"]) == (
        "schedule",
        "incremental",
        "pending",
    )
    await run_job(app, "schedule")  # not due again
    logs = await client.get(f"/api/v1/integrations/{got['id']}/sync-logs", headers=user.headers)
    assert len(logs.json()["items"]) == 1
