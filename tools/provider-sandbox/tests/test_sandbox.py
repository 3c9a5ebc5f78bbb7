"""The sandbox keeps the providers' promises the integrations service relies on: codes are
single use, bound to the redirect URI and to the PKCE verifier; refresh tokens rotate where the
provider rotates them; a dead grant is refused in each provider's own words."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from provider_sandbox.app import DEFAULT_SECRET, create_app

REDIRECT = "http://app.test/callback"


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


def challenge(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


async def code_for(sandbox: httpx.AsyncClient, path: str, client_id: str, verifier: str) -> str:
    page = await sandbox.get(
        path,
        params={
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "state": "st",
            "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        },
        headers={"X-Sandbox-Approve": "1"},
    )
    assert page.status_code == 302
    back = urlsplit(page.headers["location"])
    query = parse_qs(back.query)
    assert query["state"] == ["st"]
    return query["code"][0]


async def test_a_code_is_single_use_and_bound_to_its_verifier(sandbox: httpx.AsyncClient) -> None:
    auth = ("vc-zoom", DEFAULT_SECRET)
    code = await code_for(sandbox, "/zoom/oauth/authorize", "vc-zoom", "v" * 50)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    wrong = await sandbox.post(
        "/zoom/oauth/token", data={**form, "code_verifier": "x" * 50}, auth=auth
    )
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    code = await code_for(sandbox, "/zoom/oauth/authorize", "vc-zoom", "v" * 50)
    form["code"] = code
    ok = await sandbox.post(
        "/zoom/oauth/token", data={**form, "code_verifier": "v" * 50}, auth=auth
    )
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    again = await sandbox.post(
        "/zoom/oauth/token", data={**form, "code_verifier": "v" * 50}, auth=auth
    )
    assert again.status_code == 400
    # Zoom rotates: the old refresh token dies with its first use
    first = await sandbox.post(
        "/zoom/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        auth=auth,
    )
    assert first.status_code == 200
    assert first.json()["refresh_token"] != body["refresh_token"]
    reuse = await sandbox.post(
        "/zoom/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        auth=auth,
    )
    assert reuse.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("provider", "path", "status", "field", "words"),
    [
        ("github", "/github/login/oauth/access_token", 200, "error", "bad_refresh_token"),
        ("slack", "/slack/api/oauth.v2.access", 200, "error", "invalid_refresh_token"),
        ("google", "/google/oauth2/token", 400, "error", "invalid_grant"),
        ("microsoft", "/microsoft/login/common/oauth2/v2.0/token", 400, "error", "invalid_grant"),
    ],
)
async def test_a_dead_refresh_token_in_each_providers_words(
    sandbox: httpx.AsyncClient, provider: str, path: str, status: int, field: str, words: str
) -> None:
    r = await sandbox.post(
        path,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "nope",
            "client_id": f"vc-{provider}",
            "client_secret": DEFAULT_SECRET,
        },
    )
    assert r.status_code == status
    assert r.json()[field] == words


async def test_a_wrong_client_secret_is_refused(sandbox: httpx.AsyncClient) -> None:
    r = await sandbox.post(
        "/google/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": "vc-google"},
    )
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")


async def test_google_sync_tokens_move_only_changes_and_expire_with_410(
    sandbox: httpx.AsyncClient,
) -> None:
    grants = await sandbox.post("/_sandbox/grants", json={"provider": "google", "count": 1})
    token = (
        await sandbox.post(
            "/google/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": grants.json()[0],
                "client_id": "vc-google",
                "client_secret": DEFAULT_SECRET,
            },
        )
    ).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    url = "/google/api/calendar/v3/calendars/primary/events"
    await sandbox.post(
        "/_sandbox/google/calendars/primary/events",
        json=[{"id": f"e{i}", "summary": str(i)} for i in range(3)],
    )
    full = (await sandbox.get(url, params={"maxResults": 2}, headers=h)).json()
    assert len(full["items"]) == 2
    rest = (
        await sandbox.get(
            url, params={"maxResults": 2, "pageToken": full["nextPageToken"]}, headers=h
        )
    ).json()
    assert [e["id"] for e in rest["items"]] == ["e2"]
    await sandbox.post(
        "/_sandbox/google/calendars/primary/events", json=[{"id": "e1", "summary": "x"}]
    )
    changed = (
        await sandbox.get(url, params={"syncToken": rest["nextSyncToken"]}, headers=h)
    ).json()
    assert [e["summary"] for e in changed["items"]] == ["x"]
    await sandbox.post("/_sandbox/google/expire-sync-tokens")
    gone = await sandbox.get(url, params={"syncToken": changed["nextSyncToken"]}, headers=h)
    assert gone.status_code == 410
    assert (await sandbox.get(url, headers={"Authorization": "Bearer forged"})).status_code == 401
