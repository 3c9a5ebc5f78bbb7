"""The OAuth 2 authorization-code flow of all six providers against the sandbox, over real
HTTP: the authorization URL each provider expects, the exchange, tokens encrypted at rest and
never in an answer, and every way a callback is refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from vc_common.testing.plugin import MovableClock, ReadOutbox, TestUser

from .conftest import Connect, Sandbox, approve

TYPES = ["google_calendar", "slack", "github", "notion", "zoom", "microsoft_teams"]

EXPECTED: dict[str, dict[str, Any]] = {
    "google_calendar": {
        "path": "/google/accounts/o/oauth2/v2/auth",
        "scope": "https://www.googleapis.com/auth/calendar.events",
        "extra": {"access_type": "offline", "prompt": "consent"},
        "pkce": True,
    },
    "slack": {
        "path": "/slack/oauth/v2/authorize",
        "scope": "chat:write,channels:read",
        "extra": {},
        "pkce": True,
    },
    "github": {
        "path": "/github/login/oauth/authorize",
        "scope": "repo",
        "extra": {},
        "pkce": True,
    },
    "notion": {
        "path": "/notion/v1/oauth/authorize",
        "scope": None,
        "extra": {"owner": "user"},
        "pkce": False,
    },
    "zoom": {
        "path": "/zoom/oauth/authorize",
        "scope": "meeting:write:meeting user:read:user",
        "extra": {},
        "pkce": True,
    },
    "microsoft_teams": {
        "path": "/microsoft/login/common/oauth2/v2.0/authorize",
        "scope": "offline_access User.Read OnlineMeetings.ReadWrite",
        "extra": {},
        "pkce": True,
    },
}


@pytest.mark.parametrize("integration_type", TYPES)
async def test_connect_builds_the_providers_authorization_url(
    client: httpx.AsyncClient, user: TestUser, sandbox: Sandbox, integration_type: str
) -> None:
    r = await client.post(
        f"/api/v1/integrations/{integration_type}/connect", json={}, headers=user.headers
    )
    assert r.status_code == 200, r.text
    url = urlsplit(r.json()["authorization_url"])
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    want = EXPECTED[integration_type]
    assert f"{url.scheme}://{url.netloc}{url.path}" == sandbox.url + want["path"]
    assert q["response_type"] == "code"
    assert (
        q["redirect_uri"] == f"http://gateway.test/api/v1/integrations/{integration_type}/callback"
    )
    assert len(q["state"]) >= 40
    assert q.get("scope") == want["scope"]
    for k, v in want["extra"].items():
        assert q[k] == v
    if want["pkce"]:
        assert q["code_challenge_method"] == "S256"
        assert len(q["code_challenge"]) == 43
    else:
        assert "code_challenge" not in q


@pytest.mark.parametrize("integration_type", TYPES)
async def test_the_whole_flow_stores_tokens_encrypted_and_never_shows_them(
    client: httpx.AsyncClient,
    user: TestUser,
    connect: Connect,
    sandbox: Sandbox,
    db_connection: AsyncConnection,
    outbox: ReadOutbox,
    integration_type: str,
) -> None:
    got = await connect(user, integration_type)
    assert got["integration_type"] == integration_type
    assert got["status"] == "connected"
    assert got["is_active"] is True
    listed = await client.get("/api/v1/integrations", headers=user.headers)
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()["items"]] == [got["id"]]
    item = listed.json()["items"][0]
    assert {"id", "integration_type", "is_active", "expires_at", "status", "last_sync"} <= set(item)
    row = (
        await db_connection.execute(
            text("SELECT access_token, refresh_token FROM integrations WHERE id = :id"),
            {"id": got["id"]},
        )
    ).one()
    live_tokens = {tok for tok, (g, _) in sandbox.state.access.items()}
    assert row.access_token
    assert row.access_token.startswith("gAAAA")
    assert row.access_token not in live_tokens
    for tok in live_tokens:  # no plaintext token in any answer
        assert tok not in listed.text
        assert tok not in str(got)
    if integration_type == "google_calendar":
        assert got["expires_at"] is not None
        assert row.refresh_token is not None
    [event] = await outbox("integrations.integration.connected")
    assert event["data"]["integration_type"] == integration_type
    assert event["data"]["user_id"] == str(user.id)


async def test_a_replayed_state_is_refused(client: httpx.AsyncClient, user: TestUser) -> None:
    r = await client.post("/api/v1/integrations/github/connect", json={}, headers=user.headers)
    params = await approve(r.json()["authorization_url"])
    first = await client.get("/api/v1/integrations/github/callback", params=params)
    assert first.status_code == 200, first.text
    again = await client.get("/api/v1/integrations/github/callback", params=params)
    assert again.status_code == 400
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_an_expired_state_is_refused(
    client: httpx.AsyncClient, user: TestUser, clock: MovableClock
) -> None:
    r = await client.post("/api/v1/integrations/zoom/connect", json={}, headers=user.headers)
    params = await approve(r.json()["authorization_url"])
    clock.advance(minutes=10, seconds=1)
    late = await client.get("/api/v1/integrations/zoom/callback", params=params)
    assert late.status_code == 400


async def test_a_missing_wrong_or_foreign_state_is_refused(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice, mallory = make_user(), make_user()
    r = await client.post("/api/v1/integrations/slack/connect", json={}, headers=alice.headers)
    params = await approve(r.json()["authorization_url"])
    no_state = await client.get("/api/v1/integrations/slack/callback", params={"code": "x"})
    assert no_state.status_code == 400
    wrong = await client.get(
        "/api/v1/integrations/slack/callback", params={**params, "state": "forged"}
    )
    assert wrong.status_code == 400
    other_type = await client.get("/api/v1/integrations/github/callback", params=params)
    assert other_type.status_code == 400
    foreign = await client.get(
        "/api/v1/integrations/slack/callback", params=params, headers=mallory.headers
    )
    assert foreign.status_code == 400
    listed = await client.get("/api/v1/integrations", headers=mallory.headers)
    assert listed.json()["items"] == []


async def test_a_denied_consent_connects_nothing(client: httpx.AsyncClient, user: TestUser) -> None:
    r = await client.post("/api/v1/integrations/notion/connect", json={}, headers=user.headers)
    state = parse_qs(urlsplit(r.json()["authorization_url"]).query)["state"][0]
    denied = await client.get(
        "/api/v1/integrations/notion/callback", params={"error": "access_denied", "state": state}
    )
    assert denied.status_code == 400
    assert (await client.get("/api/v1/integrations", headers=user.headers)).json()["items"] == []


async def test_a_tampered_code_or_verifier_is_refused_by_the_provider(
    client: httpx.AsyncClient, user: TestUser
) -> None:
    r = await client.post(
        "/api/v1/integrations/google_calendar/connect", json={}, headers=user.headers
    )
    params = await approve(r.json()["authorization_url"])
    bad = await client.get(
        "/api/v1/integrations/google_calendar/callback", params={**params, "code": "stolen"}
    )
    assert bad.status_code == 400
    assert "invalid_grant" in bad.json()["detail"]


async def test_unknown_type_is_404(client: httpx.AsyncClient, user: TestUser) -> None:
    r = await client.post("/api/v1/integrations/myspace/connect", json={}, headers=user.headers)
    assert r.status_code == 404
    cb = await client.get(
        "/api/v1/integrations/myspace/callback", params={"state": "s", "code": "c"}
    )
    assert cb.status_code == 404


async def test_connect_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/integrations/github/connect", json={})).status_code == 401
    assert (await client.get("/api/v1/integrations")).status_code == 401


async def test_reconnecting_replaces_the_tokens_of_the_same_integration(
    user: TestUser, connect: Connect, outbox: ReadOutbox
) -> None:
    first = await connect(user, "github")
    second = await connect(user, "github", with_bearer=False)
    assert second["id"] == first["id"]
    events = await outbox("integrations.integration.connected")
    assert [e["data"]["reconnected"] for e in events] == [False, True]


async def test_disconnect_revokes_at_the_provider_and_deletes_the_tokens(
    client: httpx.AsyncClient,
    user: TestUser,
    make_user: Any,
    connect: Connect,
    sandbox: Sandbox,
    db_connection: AsyncConnection,
    outbox: ReadOutbox,
) -> None:
    got = await connect(user, "google_calendar")
    grants_before = sum(1 for g, _ in sandbox.state.access.values() if not g.revoked)
    other = make_user()
    assert (
        await client.delete(f"/api/v1/integrations/{got['id']}", headers=other.headers)
    ).status_code == 404
    r = await client.delete(f"/api/v1/integrations/{got['id']}", headers=user.headers)
    assert r.status_code == 204
    row = (
        await db_connection.execute(
            text(
                "SELECT access_token, refresh_token, status, is_active "
                "FROM integrations WHERE id = :i"
            ),
            {"i": got["id"]},
        )
    ).one()
    assert (row.access_token, row.refresh_token, row.status, row.is_active) == (
        None,
        None,
        "disconnected",
        False,
    )
    assert sum(1 for g, _ in sandbox.state.access.values() if not g.revoked) == grants_before - 1
    [event] = await outbox("integrations.integration.disconnected")
    assert event["data"]["revoked_at_provider"] is True
    listed = (await client.get("/api/v1/integrations", headers=user.headers)).json()["items"]
    assert listed[0]["status"] == "disconnected"
