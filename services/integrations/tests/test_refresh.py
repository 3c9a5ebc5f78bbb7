"""Tokens are refreshed before they expire, by a job safe with two replicas; a refusal for
good ends in needs_reconnect (published, never retried); transient failures back off."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.jobs import run_job
from vc_common.testing.plugin import MovableClock, ReadOutbox, TestUser

from .conftest import Connect, Sandbox, oauth_connect


async def _row(db: AsyncConnection, integration_id: str) -> Any:
    return (
        await db.execute(text("SELECT * FROM integrations WHERE id = :i"), {"i": integration_id})
    ).one()


async def test_a_token_is_refreshed_before_it_expires(
    app: Any,
    user: TestUser,
    connect: Connect,
    clock: MovableClock,
    db_connection: AsyncConnection,
) -> None:
    got = await connect(user, "zoom")  # Zoom: 1 hour tokens, the refresh token rotates
    before = await _row(db_connection, got["id"])
    expires = datetime.fromisoformat(got["expires_at"])
    assert expires == clock.now + timedelta(hours=1)
    clock.set(expires - timedelta(minutes=6))
    assert await run_job(app, "refresh") == 0  # not due yet
    clock.set(expires - timedelta(minutes=4))
    assert await run_job(app, "refresh") == 1
    after = await _row(db_connection, got["id"])
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token  # rotated
    assert after.expires_at == clock.now + timedelta(hours=1)
    assert after.status == "connected"
    assert after.refresh_failures == 0
    assert await run_job(app, "refresh") == 0  # the next one is an hour away


async def test_a_refused_refresh_needs_reconnect_and_is_never_retried(
    app: Any,
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    sandbox: Sandbox,
    sandbox_http: httpx.AsyncClient,
    clock: MovableClock,
    outbox: ReadOutbox,
) -> None:
    got = await connect(user, "google_calendar")
    await sandbox_http.post("/_sandbox/revoke-all", json={"provider": "google"})
    clock.advance(minutes=58)
    calls = sandbox.state.token_calls.get("google", 0)
    assert await run_job(app, "refresh") >= 1
    [listed] = (await client.get("/api/v1/integrations", headers=user.headers)).json()["items"]
    assert listed["status"] == "needs_reconnect"
    assert listed["is_active"] is False
    [event] = await outbox("integrations.integration.needs_reconnect")
    assert event["data"]["integration_id"] == got["id"]
    assert "invalid_grant" in event["data"]["reason"]
    clock.advance(hours=5)
    await run_job(app, "refresh")
    assert sandbox.state.token_calls.get("google", 0) == calls + 1  # not retried
    sync = await client.post(f"/api/v1/integrations/{got['id']}/sync", headers=user.headers)
    assert sync.status_code == 409


async def test_github_and_slack_refusals_in_their_own_words(
    app: Any,
    client: httpx.AsyncClient,
    make_user: Any,
    connect: Connect,
    sandbox_http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    """GitHub answers HTTP 200 {"error":"bad_refresh_token"}, Slack HTTP 200 {"ok":false,
    "error":"invalid_refresh_token"}: both are a dead grant, not a transient failure."""
    users = {t: make_user() for t in ("github", "slack")}
    for t, u in users.items():
        await connect(u, t)
        await sandbox_http.post("/_sandbox/revoke-all", json={"provider": t})
    clock.advance(minutes=58)
    await run_job(app, "refresh")
    for u in users.values():
        [listed] = (await client.get("/api/v1/integrations", headers=u.headers)).json()["items"]
        assert listed["status"] == "needs_reconnect"


async def test_transient_failures_retry_with_backoff(
    app: Any,
    user: TestUser,
    connect: Connect,
    sandbox_http: httpx.AsyncClient,
    clock: MovableClock,
    db_connection: AsyncConnection,
) -> None:
    got = await connect(user, "microsoft_teams")
    await sandbox_http.post(
        "/_sandbox/fail", json={"provider": "microsoft", "kind": "token", "status": 503, "count": 2}
    )
    clock.advance(minutes=56)
    assert await run_job(app, "refresh") == 1
    first = await _row(db_connection, got["id"])
    assert first.refresh_failures == 1
    assert first.status == "connected"
    assert "http_503" in first.last_error
    assert timedelta(seconds=20) <= first.refresh_due_at - clock.now <= timedelta(seconds=40)
    assert await run_job(app, "refresh") == 0  # backing off
    clock.advance(seconds=40)
    assert await run_job(app, "refresh") == 1
    second = await _row(db_connection, got["id"])
    assert second.refresh_failures == 2
    assert timedelta(seconds=45) <= second.refresh_due_at - clock.now <= timedelta(seconds=75)
    clock.advance(seconds=80)
    assert await run_job(app, "refresh") == 1
    third = await _row(db_connection, got["id"])
    assert third.refresh_failures == 0
    assert third.last_error is None
    assert third.access_token != first.access_token


async def test_a_timeout_is_transient(
    app: Any,
    user: TestUser,
    connect: Connect,
    sandbox_http: httpx.AsyncClient,
    clock: MovableClock,
    db_connection: AsyncConnection,
) -> None:
    got = await connect(user, "slack")
    await sandbox_http.post("/_sandbox/config", json={"delays": {"slack": 4}})  # > 3 s timeout
    try:
        clock.advance(minutes=56)
        assert await run_job(app, "refresh") == 1
    finally:
        await sandbox_http.post("/_sandbox/config", json={"delays": {"slack": 0}})
    row = await _row(db_connection, got["id"])
    assert row.status == "connected"
    assert row.refresh_failures == 1
    assert "timeout" in row.last_error


async def test_two_racing_schedulers_never_refresh_one_token_twice(
    live_app: Any,
    live_client: httpx.AsyncClient,
    make_user: Any,
    sandbox: Sandbox,
    sandbox_http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    """Two replicas' refresh jobs at the same moment over the same due integrations (real
    commits): each integration is refreshed exactly once, and none is lost."""
    users = [make_user() for _ in range(12)]
    ids = [(await oauth_connect(live_client, u, "zoom"))["id"] for u in users]
    await sandbox_http.post("/_sandbox/config", json={"delays": {"zoom": 0.05}})
    try:
        calls = sandbox.state.token_calls.get("zoom", 0)
        clock.advance(minutes=57)
        done = await asyncio.gather(*(run_job(live_app, "refresh") for _ in range(2)))
        assert sum(done) == len(ids)
        assert sandbox.state.token_calls["zoom"] - calls == len(ids)
        assert await run_job(live_app, "refresh") == 0
        async with live_app.state.db.sessionmaker() as s:
            due = (
                await s.execute(
                    text(
                        "SELECT count(*) FROM integrations WHERE id = ANY(:ids) AND "
                        "refresh_due_at > :now AND refresh_failures = 0"
                    ),
                    {"ids": [uuid.UUID(i) for i in ids], "now": clock.now},
                )
            ).scalar_one()
        assert due == len(ids)
    finally:
        await sandbox_http.post("/_sandbox/config", json={"delays": {"zoom": 0}})
        async with live_app.state.db.unit_of_work() as s:
            await s.execute(
                text("DELETE FROM integrations WHERE id = ANY(:ids)"),
                {"ids": [uuid.UUID(i) for i in ids]},
            )


async def test_an_in_line_refresh_and_the_refresher_never_both_refresh(
    live_app: Any,
    live_client: httpx.AsyncClient,
    make_user: Any,
    sandbox: Sandbox,
    sandbox_http: httpx.AsyncClient,
    clock: MovableClock,
) -> None:
    """A sync refreshing its token in-line holds the integration's row lock; the refresher,
    running meanwhile, skips that row (SKIP LOCKED) and finds it no longer due afterwards."""
    from integrations.connections import service as connections
    from vc_common.context import context_for

    user = make_user()
    got = await oauth_connect(live_client, user, "zoom")
    await sandbox_http.post("/_sandbox/config", json={"delays": {"zoom": 0.5}})
    try:
        clock.advance(minutes=59, seconds=30)  # due for the refresher and for a sync
        calls = sandbox.state.token_calls.get("zoom", 0)

        async def inline() -> None:
            async with live_app.state.db.unit_of_work() as s:
                await connections.fresh_access_token(context_for(live_app, s), uuid.UUID(got["id"]))

        sync = asyncio.create_task(inline())
        await asyncio.sleep(0.2)  # the sync holds the lock, its refresh is in flight
        assert await run_job(live_app, "refresh") == 0
        await sync
        assert await run_job(live_app, "refresh") == 0
        assert sandbox.state.token_calls["zoom"] == calls + 1
    finally:
        await sandbox_http.post("/_sandbox/config", json={"delays": {"zoom": 0}})
        async with live_app.state.db.unit_of_work() as s:
            await s.execute(text("DELETE FROM integrations WHERE id = :i"), {"i": got["id"]})
