"""NOT PRODUCTION CODE. One HTTP server standing in for six providers, speaking their real
endpoints and payloads closely enough for the integrations service to run against it unchanged
(only its base URLs differ): each provider's OAuth 2 authorize page and token endpoint (codes,
PKCE S256, refresh, rotation, ``invalid_grant`` in each provider's own words) and the API calls
the syncs make.

Paths (``/{provider}/...`` mirrors the real host's path):

- Google: ``/google/accounts/o/oauth2/v2/auth``, ``/google/oauth2/token``,
  ``/google/oauth2/revoke``,
  ``/google/api/calendar/v3/calendars/{id}/events`` (list with ``syncToken``/``pageToken``, 410 for
  an expired sync token; insert, patch, delete)
- Slack: ``/slack/oauth/v2/authorize``, ``/slack/api/oauth.v2.access``, ``/slack/api/{method}``
  (``chat.postMessage``, ``auth.test``, ``conversations.info``, ``auth.revoke``)
- GitHub: ``/github/login/oauth/authorize``, ``/github/login/oauth/access_token``,
  ``/github/api/repos/{owner}/{repo}/issues`` (``since``, ``Link`` paging), ``PATCH .../{number}``,
  ``DELETE /github/api/applications/{client_id}/grant``
- Notion: ``/notion/v1/oauth/authorize``, ``/notion/v1/oauth/token`` (JSON), ``/notion/v1/pages``
- Zoom: ``/zoom/oauth/authorize``, ``/zoom/oauth/token``, ``/zoom/oauth/revoke``,
  ``/zoom/api/v2/users/me``, ``/zoom/api/v2/users/me/meetings``
- Microsoft: ``/microsoft/login/{tenant}/oauth2/v2.0/authorize`` and ``/token``,
  ``/microsoft/graph/v1.0/me``, ``/microsoft/graph/v1.0/me/onlineMeetings``

Test and demo controls live under ``/_sandbox/`` (seed data, revoke grants, inject failures,
read what was posted). Everything is in memory.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

PROVIDERS = ("google", "slack", "github", "notion", "zoom", "microsoft")
DEFAULT_SECRET = "development-client-secret"
CLIENT_IDS = {
    "google": "vc-google",
    "slack": "vc-slack",
    "github": "vc-github",
    "notion": "vc-notion",
    "zoom": "vc-zoom",
    "microsoft": "vc-microsoft",
}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Grant:
    provider: str
    user: str
    scope: str
    refresh_token: str | None
    revoked: bool = False


@dataclass
class State:
    """Everything the sandbox remembers (one lock: the server runs in one thread per test)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    access_ttl: int = 3600
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, tuple[Grant, float]] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    #: provider -> list of (kind "token"|"api", status) failures to answer next
    failures: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: provider -> delay (s) before answering its token endpoint (slow providers, timeouts)
    delays: dict[str, float] = field(default_factory=dict)
    token_calls: dict[str, int] = field(default_factory=dict)
    # google: calendar id -> event id -> event (with "_seq"); a global change counter
    calendars: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    google_seq: int = 0
    google_min_sync_seq: int = 0
    # github: "owner/repo" -> number -> issue
    repos: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    slack_messages: list[dict[str, Any]] = field(default_factory=list)
    notion_pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    meetings: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, provider: str, kind: str) -> int | None:
        with self.lock:
            queue = self.failures.get(provider) or []
            for n, (k, status) in enumerate(queue):
                if k == kind:
                    del queue[n]
                    return status
        return None


def _error(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _client_auth(request: Request, form: dict[str, Any]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        raw = base64.b64decode(header[6:]).decode()
        cid, _, secret = raw.partition(":")
        return cid, secret
    return form.get("client_id"), form.get("client_secret")


def _pkce_ok(code: dict[str, Any], verifier: str | None) -> bool:
    challenge = code.get("code_challenge")
    if not challenge:
        return True
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    return bool(base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge)


def create_app(state: State | None = None) -> FastAPI:
    st = state or State()
    app = FastAPI(title="Provider sandbox (NOT PRODUCTION)")
    app.state.sandbox = st

    # ------------------------------------------------------------------ authorize pages

    def authorize_page(provider: str, request: Request) -> Response:
        q = dict(request.query_params)
        redirect_uri = q.get("redirect_uri")
        if not redirect_uri or q.get("client_id") != CLIENT_IDS[provider]:
            return HTMLResponse("<h1>Error: unknown client or no redirect_uri</h1>", 400)
        if request.headers.get("x-sandbox-approve") or q.get("sandbox_approve"):
            return _approve(provider, q, request.headers.get("x-sandbox-user", "sandbox-user"))
        fields = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in q.items()
        )
        html = f"""<!doctype html><html><head><title>{provider} sandbox</title></head><body
style="font-family:sans-serif;max-width:36em;margin:4em auto">
<p style="color:#b00"><b>Provider sandbox</b>: not {provider}, no account needed.</p>
<h1>Allow VirtualCoworking to access your {provider} account?</h1>
<p>Scopes: <code>{escape(q.get("scope", "(none)"))}</code></p>
<form method="post">{fields}
<button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></form></body></html>"""
        return HTMLResponse(html)

    def _approve(provider: str, q: dict[str, str], user: str) -> Response:
        code = secrets.token_urlsafe(24)
        with st.lock:
            st.codes[code] = {
                "provider": provider,
                "client_id": q.get("client_id"),
                "redirect_uri": q.get("redirect_uri"),
                "code_challenge": q.get("code_challenge"),
                "scope": q.get("scope", ""),
                "user": user,
                "expires": time.time() + 600,
            }
        sep = "&" if "?" in q["redirect_uri"] else "?"
        params = {"code": code}
        if q.get("state"):
            params["state"] = q["state"]
        return RedirectResponse(f"{q['redirect_uri']}{sep}{urlencode(params)}", 302)

    async def decide(provider: str, request: Request) -> Response:
        form = dict(await request.form())
        q = {k: str(v) for k, v in form.items() if k != "decision"}
        if form.get("decision") != "approve":
            sep = "&" if "?" in q["redirect_uri"] else "?"
            params = {"error": "access_denied", "state": q.get("state", "")}
            return RedirectResponse(f"{q['redirect_uri']}{sep}{urlencode(params)}", 302)
        return _approve(provider, q, "sandbox-user")

    for provider, path in (
        ("google", "/google/accounts/o/oauth2/v2/auth"),
        ("slack", "/slack/oauth/v2/authorize"),
        ("github", "/github/login/oauth/authorize"),
        ("notion", "/notion/v1/oauth/authorize"),
        ("zoom", "/zoom/oauth/authorize"),
        ("microsoft", "/microsoft/login/{tenant}/oauth2/v2.0/authorize"),
    ):

        def make(p: str) -> tuple[Any, Any]:
            async def get(request: Request) -> Response:
                return authorize_page(p, request)

            async def post(request: Request) -> Response:
                return await decide(p, request)

            return get, post

        g, po = make(provider)
        app.add_api_route(path, g, methods=["GET"], include_in_schema=False)
        app.add_api_route(path, po, methods=["POST"], include_in_schema=False)

    # ------------------------------------------------------------------ token endpoints

    def refused(provider: str, kind: str) -> JSONResponse:
        """Each provider's words for a dead code or refresh token."""
        if provider == "github":
            code = "bad_verification_code" if kind == "code" else "bad_refresh_token"
            return _error(200, {"error": code, "error_description": "The code is incorrect."})
        if provider == "slack":
            return _error(
                200,
                {
                    "ok": False,
                    "error": "invalid_code" if kind == "code" else "invalid_refresh_token",
                },
            )
        body: dict[str, Any] = {
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked.",
        }
        if provider == "microsoft":
            body["error_codes"] = [70000 if kind == "code" else 700082]
        return _error(400, body)

    def issue(grant: Grant, rotate: bool) -> dict[str, Any]:
        access = f"{grant.provider}-at-{secrets.token_urlsafe(18)}"
        with st.lock:
            st.access[access] = (grant, time.time() + st.access_ttl)
            if rotate or grant.refresh_token is None:
                if grant.refresh_token:
                    st.refresh.pop(grant.refresh_token, None)
                grant.refresh_token = f"{grant.provider}-rt-{secrets.token_urlsafe(18)}"
                st.refresh[grant.refresh_token] = grant
        return {"access_token": access, "refresh_token": grant.refresh_token}

    def token_body(p: str, grant: Grant, tokens: dict[str, Any], first: bool) -> dict[str, Any]:
        ttl = st.access_ttl
        if p == "google":
            body = {
                "access_token": tokens["access_token"],
                "expires_in": ttl,
                "scope": grant.scope,
                "token_type": "Bearer",
            }
            if first:  # Google sends the refresh token once, at consent
                body["refresh_token"] = tokens["refresh_token"]
            return body
        if p == "slack":
            return {
                "ok": True,
                "app_id": "A0SANDBOX",
                "authed_user": {"id": "U0SANDBOX"},
                "scope": grant.scope,
                "token_type": "bot",
                "access_token": tokens["access_token"],
                "bot_user_id": "B0SANDBOX",
                "refresh_token": tokens["refresh_token"],
                "expires_in": ttl,
                "team": {"id": "T0SANDBOX", "name": "Sandbox workspace"},
                "enterprise": None,
                "is_enterprise_install": False,
            }
        if p == "github":
            return {
                "access_token": tokens["access_token"],
                "expires_in": ttl,
                "refresh_token": tokens["refresh_token"],
                "refresh_token_expires_in": 15897600,
                "scope": grant.scope,
                "token_type": "bearer",
            }
        if p == "notion":
            return {
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
                "token_type": "bearer",
                "bot_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
                "workspace_name": "Sandbox workspace",
                "workspace_icon": None,
                "workspace_id": "5d7c1c0e-1f7a-4c4f-8f47-2d5d0b9f1a11",
                "owner": {"type": "user", "user": {"object": "user", "id": "sandbox-user"}},
                "duplicated_template_id": None,
                "request_id": str(uuid.uuid4()),
            }
        if p == "zoom":
            return {
                "access_token": tokens["access_token"],
                "token_type": "bearer",
                "refresh_token": tokens["refresh_token"],
                "expires_in": ttl,
                "scope": grant.scope,
                "api_url": "https://api.zoom.us",
            }
        return {  # microsoft
            "token_type": "Bearer",
            "scope": grant.scope,
            "expires_in": ttl,
            "ext_expires_in": ttl,
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
        }

    async def token_endpoint(p: str, request: Request) -> Response:
        import asyncio

        with st.lock:
            st.token_calls[p] = st.token_calls.get(p, 0) + 1
        delay = st.delays.get(p)
        if delay:
            await asyncio.sleep(delay)
        failure = st.fail(p, "token")
        if failure is not None:
            return _error(failure, {"error": "server_error"})
        if "json" in request.headers.get("content-type", ""):
            form = dict(await request.json())
        else:
            form = {k: str(v) for k, v in (await request.form()).items()}
        cid, secret = _client_auth(request, form)
        if cid != CLIENT_IDS[p] or secret != DEFAULT_SECRET:
            if p == "slack":
                return _error(200, {"ok": False, "error": "invalid_client_id"})
            if p == "github":
                return _error(200, {"error": "incorrect_client_credentials"})
            return _error(401, {"error": "invalid_client"})
        grant_type = form.get("grant_type") or ("authorization_code" if p == "slack" else None)
        if grant_type == "authorization_code":
            with st.lock:
                code = st.codes.pop(str(form.get("code")), None)
            if (
                code is None
                or code["provider"] != p
                or code["expires"] < time.time()
                or code["redirect_uri"] != form.get("redirect_uri")
                or not _pkce_ok(code, form.get("code_verifier"))
            ):
                return refused(p, "code")
            grant = Grant(provider=p, user=code["user"], scope=code["scope"], refresh_token=None)
            return JSONResponse(token_body(p, grant, issue(grant, rotate=True), first=True))
        if grant_type == "refresh_token":
            with st.lock:
                held = st.refresh.get(str(form.get("refresh_token")))
            if held is None or held.revoked:
                return refused(p, "refresh")
            grant = held
            rotate = p in ("zoom", "slack", "microsoft", "notion", "github")
            return JSONResponse(token_body(p, grant, issue(grant, rotate=rotate), first=False))
        return _error(400, {"error": "unsupported_grant_type"})

    for provider, path in (
        ("google", "/google/oauth2/token"),
        ("slack", "/slack/api/oauth.v2.access"),
        ("github", "/github/login/oauth/access_token"),
        ("notion", "/notion/v1/oauth/token"),
        ("zoom", "/zoom/oauth/token"),
        ("microsoft", "/microsoft/login/{tenant}/oauth2/v2.0/token"),
    ):

        def make_token(p: str) -> Any:
            async def endpoint(request: Request) -> Response:
                return await token_endpoint(p, request)

            return endpoint

        app.add_api_route(path, make_token(provider), methods=["POST"], include_in_schema=False)

    # ------------------------------------------------------------------ revocation

    def revoke_grant(grant: Grant) -> None:
        with st.lock:
            grant.revoked = True
            for tok, (g, _) in list(st.access.items()):
                if g is grant:
                    del st.access[tok]

    def grant_of(token: str) -> Grant | None:
        with st.lock:
            hit = st.access.get(token)
            if hit is not None:
                return hit[0]
            return st.refresh.get(token)

    @app.post("/google/oauth2/revoke", include_in_schema=False)
    async def google_revoke(request: Request) -> Response:
        form = await request.form()
        grant = grant_of(str(form.get("token") or request.query_params.get("token")))
        if grant is None:
            return _error(400, {"error": "invalid_token"})
        revoke_grant(grant)
        return Response(status_code=200)

    @app.post("/zoom/oauth/revoke", include_in_schema=False)
    async def zoom_revoke(request: Request) -> Response:
        form = await request.form()
        grant = grant_of(str(form.get("token") or request.query_params.get("token")))
        if grant is not None:
            revoke_grant(grant)
        return JSONResponse({"status": "success"})

    @app.post("/notion/v1/oauth/revoke", include_in_schema=False)
    async def notion_revoke(request: Request) -> Response:
        grant = grant_of(str((await request.json()).get("token")))
        if grant is not None:
            revoke_grant(grant)
        return JSONResponse({})

    @app.delete("/github/api/applications/{client_id}/grant", include_in_schema=False)
    async def github_revoke(client_id: str, request: Request) -> Response:
        del client_id  # the Basic auth names the client too
        grant = grant_of(str((await request.json()).get("access_token")))
        if grant is None:
            return _error(404, {"message": "Not Found"})
        revoke_grant(grant)
        return Response(status_code=204)

    # ------------------------------------------------------------------ API auth

    def bearer(request: Request, provider: str) -> Grant | JSONResponse:
        failure = st.fail(provider, "api")
        if failure is not None:
            return _error(failure, {"error": {"code": failure, "message": "Backend Error"}})
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        with st.lock:
            hit = st.access.get(token)
        if hit is None or hit[1] < time.time() or hit[0].provider != provider:
            if provider == "slack":
                return _error(200, {"ok": False, "error": "invalid_auth"})
            if provider == "github":
                return _error(401, {"message": "Bad credentials"})
            return _error(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Invalid Credentials",
                        "status": "UNAUTHENTICATED",
                    }
                },
            )
        return hit[0]

    # ------------------------------------------------------------------ Google Calendar

    def g_event(ev: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ev.items() if not k.startswith("_")}

    def g_put(calendar: str, ev: dict[str, Any]) -> dict[str, Any]:
        with st.lock:
            st.google_seq += 1
            ev["_seq"] = st.google_seq
            ev["updated"] = _now_iso()
            ev["etag"] = f'"{st.google_seq}"'
            ev.setdefault("kind", "calendar#event")
            ev.setdefault("status", "confirmed")
            st.calendars.setdefault(calendar, {})[ev["id"]] = ev
        return ev

    @app.get("/google/api/calendar/v3/calendars/{calendar}/events", include_in_schema=False)
    async def g_list(calendar: str, request: Request) -> Response:
        grant = bearer(request, "google")
        if isinstance(grant, JSONResponse):
            return grant
        q = request.query_params
        max_results = min(int(q.get("maxResults", 250)), 2500)
        with st.lock:
            events = sorted(st.calendars.get(calendar, {}).values(), key=lambda e: e["_seq"])
            seq_now = st.google_seq
            min_seq = st.google_min_sync_seq
        token = q.get("syncToken")
        if token:
            since = int(token.removeprefix("sync-"))
            if since < min_seq:
                return _error(
                    410,
                    {
                        "error": {
                            "errors": [{"domain": "global", "reason": "fullSyncRequired"}],
                            "code": 410,
                            "message": "Sync token is no longer valid, a full sync is required.",
                        }
                    },
                )
            events = [e for e in events if e["_seq"] > since]
        elif q.get("showDeleted", "false") != "true":
            events = [e for e in events if e.get("status") != "cancelled"]
        offset = 0
        if q.get("pageToken"):  # "<offset>:<the change counter when the listing began>"
            off_s, _, seq_s = q["pageToken"].partition(":")
            offset, seq_now = int(off_s), int(seq_s)
            if token:  # later pages of an incremental listing: the same window
                events = [e for e in events if e["_seq"] <= seq_now]
        page = events[offset : offset + max_results]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": calendar,
            "timeZone": "UTC",
            "items": [g_event(e) for e in page],
        }
        if offset + max_results < len(events):
            body["nextPageToken"] = f"{offset + max_results}:{seq_now}"
        else:
            body["nextSyncToken"] = f"sync-{seq_now}"
        return JSONResponse(body)

    @app.post("/google/api/calendar/v3/calendars/{calendar}/events", include_in_schema=False)
    async def g_insert(calendar: str, request: Request) -> Response:
        grant = bearer(request, "google")
        if isinstance(grant, JSONResponse):
            return grant
        ev = dict(await request.json())
        ev["id"] = ev.get("id") or uuid.uuid4().hex
        return JSONResponse(g_event(g_put(calendar, ev)))

    @app.patch(
        "/google/api/calendar/v3/calendars/{calendar}/events/{event_id}", include_in_schema=False
    )
    async def g_patch(calendar: str, event_id: str, request: Request) -> Response:
        grant = bearer(request, "google")
        if isinstance(grant, JSONResponse):
            return grant
        with st.lock:
            ev = st.calendars.get(calendar, {}).get(event_id)
        if ev is None:
            return _error(404, {"error": {"code": 404, "message": "Not Found"}})
        ev.update(await request.json())
        return JSONResponse(g_event(g_put(calendar, ev)))

    @app.delete(
        "/google/api/calendar/v3/calendars/{calendar}/events/{event_id}", include_in_schema=False
    )
    async def g_delete(calendar: str, event_id: str, request: Request) -> Response:
        grant = bearer(request, "google")
        if isinstance(grant, JSONResponse):
            return grant
        with st.lock:
            ev = st.calendars.get(calendar, {}).get(event_id)
        if ev is None or ev.get("status") == "cancelled":
            return _error(410, {"error": {"code": 410, "message": "Resource has been deleted"}})
        ev["status"] = "cancelled"
        g_put(calendar, ev)
        return Response(status_code=204)

    # ------------------------------------------------------------------ Slack

    @app.api_route("/slack/api/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def slack_api(method: str, request: Request) -> Response:
        grant = bearer(request, "slack")
        if isinstance(grant, JSONResponse):
            return grant
        body: dict[str, Any] = {}
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            body = dict(await request.json())
        elif request.method == "POST":
            body = {k: str(v) for k, v in (await request.form()).items()}
        body.update(dict(request.query_params))
        if method == "auth.test":
            return JSONResponse(
                {
                    "ok": True,
                    "url": "https://sandbox.slack.com/",
                    "team": "Sandbox workspace",
                    "user": "virtualcoworking",
                    "team_id": "T0SANDBOX",
                    "user_id": "U0SANDBOX",
                    "bot_id": "B0SANDBOX",
                }
            )
        if method == "conversations.info":
            channel = body.get("channel", "")
            if not channel or channel.startswith("missing"):
                return JSONResponse({"ok": False, "error": "channel_not_found"})
            return JSONResponse(
                {"ok": True, "channel": {"id": channel, "name": channel, "is_channel": True}}
            )
        if method == "chat.postMessage":
            channel = body.get("channel")
            if not channel:
                return JSONResponse({"ok": False, "error": "channel_not_found"})
            ts = f"{time.time():.6f}"
            message = {
                "type": "message",
                "text": body.get("text", ""),
                "ts": ts,
                "bot_id": "B0SANDBOX",
            }
            with st.lock:
                st.slack_messages.append({"channel": channel, **message})
            return JSONResponse({"ok": True, "channel": channel, "ts": ts, "message": message})
        if method == "auth.revoke":
            revoke_grant(grant)
            return JSONResponse({"ok": True, "revoked": True})
        return JSONResponse({"ok": False, "error": "unknown_method"})

    # ------------------------------------------------------------------ GitHub

    def gh_issue(repo: str, issue: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": issue["number"] * 1000 + 7,
            "node_id": f"I_{issue['number']}",
            "number": issue["number"],
            "title": issue["title"],
            "body": issue.get("body"),
            "state": issue["state"],
            "state_reason": "completed" if issue["state"] == "closed" else None,
            "html_url": f"https://github.com/{repo}/issues/{issue['number']}",
            "url": f"https://api.github.com/repos/{repo}/issues/{issue['number']}",
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue.get("closed_at"),
            "user": {"login": "sandbox-user", "id": 1},
            "labels": [],
            **({"pull_request": {"url": "..."}} if issue.get("is_pull") else {}),
        }

    def gh_time() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @app.get("/github/api/repos/{owner}/{repo}/issues", include_in_schema=False)
    async def gh_list(owner: str, repo: str, request: Request) -> Response:
        grant = bearer(request, "github")
        if isinstance(grant, JSONResponse):
            return grant
        full = f"{owner}/{repo}"
        q = request.query_params
        with st.lock:
            if full not in st.repos:
                return _error(404, {"message": "Not Found"})
            issues = list(st.repos[full].values())
        state = q.get("state", "open")
        if state != "all":
            issues = [i for i in issues if i["state"] == state]
        if q.get("since"):
            issues = [i for i in issues if i["updated_at"] >= q["since"]]
        issues.sort(
            key=lambda i: (i["updated_at"], i["number"]), reverse=q.get("direction") != "asc"
        )
        per_page = min(int(q.get("per_page", 30)), 100)
        page = int(q.get("page", 1))
        chunk = issues[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(issues):
            params = {k: v for k, v in q.items() if k != "page"}
            params["page"] = str(page + 1)
            nxt = f"{str(request.base_url).rstrip('/')}{request.url.path}?{urlencode(params)}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return JSONResponse([gh_issue(full, i) for i in chunk], headers=headers)

    @app.patch("/github/api/repos/{owner}/{repo}/issues/{number}", include_in_schema=False)
    async def gh_patch(owner: str, repo: str, number: int, request: Request) -> Response:
        grant = bearer(request, "github")
        if isinstance(grant, JSONResponse):
            return grant
        full = f"{owner}/{repo}"
        body = dict(await request.json())
        with st.lock:
            issue = st.repos.get(full, {}).get(number)
            if issue is None:
                return _error(404, {"message": "Not Found"})
            for k in ("title", "body", "state"):
                if k in body:
                    issue[k] = body[k]
            issue["closed_at"] = gh_time() if issue["state"] == "closed" else None
            issue["updated_at"] = gh_time()
        return JSONResponse(gh_issue(full, issue))

    # ------------------------------------------------------------------ Notion

    @app.post("/notion/v1/pages", include_in_schema=False)
    async def notion_create(request: Request) -> Response:
        grant = bearer(request, "notion")
        if isinstance(grant, JSONResponse):
            return grant
        if request.headers.get("notion-version") is None:
            return _error(400, {"object": "error", "status": 400, "code": "missing_version"})
        body = dict(await request.json())
        parent = body.get("parent") or {}
        if not parent.get("database_id"):
            return _error(
                400,
                {"object": "error", "status": 400, "code": "validation_error", "message": "parent"},
            )
        page = {
            "object": "page",
            "id": str(uuid.uuid4()),
            "created_time": _now_iso(),
            "last_edited_time": _now_iso(),
            "parent": {"type": "database_id", "database_id": parent["database_id"]},
            "properties": body.get("properties") or {},
            "url": "https://www.notion.so/sandbox",
        }
        with st.lock:
            st.notion_pages[str(page["id"])] = page
        return JSONResponse(page)

    @app.patch("/notion/v1/pages/{page_id}", include_in_schema=False)
    async def notion_update(page_id: str, request: Request) -> Response:
        grant = bearer(request, "notion")
        if isinstance(grant, JSONResponse):
            return grant
        with st.lock:
            page = st.notion_pages.get(page_id)
        if page is None:
            return _error(404, {"object": "error", "status": 404, "code": "object_not_found"})
        page["properties"].update((await request.json()).get("properties") or {})
        page["last_edited_time"] = _now_iso()
        return JSONResponse(page)

    # ------------------------------------------------------------------ Zoom, Microsoft

    @app.get("/zoom/api/v2/users/me", include_in_schema=False)
    async def zoom_me(request: Request) -> Response:
        import asyncio

        await asyncio.sleep(st.delays.get("zoom-api", 0))  # a slow API, to interrupt a sync
        grant = bearer(request, "zoom")
        if isinstance(grant, JSONResponse):
            return grant
        return JSONResponse({"id": "zoom-sandbox-user", "email": "sandbox@example.com", "type": 2})

    @app.post("/zoom/api/v2/users/me/meetings", include_in_schema=False)
    async def zoom_meeting(request: Request) -> Response:
        grant = bearer(request, "zoom")
        if isinstance(grant, JSONResponse):
            return grant
        body = dict(await request.json())
        mid = secrets.randbelow(10**10) + 10**10
        meeting = {
            "id": mid,
            "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
            "topic": body.get("topic"),
            "type": body.get("type", 2),
            "start_time": body.get("start_time"),
            "duration": body.get("duration"),
            "timezone": body.get("timezone", "UTC"),
            "join_url": f"https://zoom.us/j/{mid}?pwd=sandbox",
            "start_url": f"https://zoom.us/s/{mid}?zak=sandbox",
            "password": "sandbox",
        }
        with st.lock:
            st.meetings.append({"provider": "zoom", **meeting})
        return JSONResponse(meeting, status_code=201)

    @app.get("/microsoft/graph/v1.0/me", include_in_schema=False)
    async def graph_me(request: Request) -> Response:
        grant = bearer(request, "microsoft")
        if isinstance(grant, JSONResponse):
            return grant
        return JSONResponse(
            {
                "id": "ms-sandbox-user",
                "displayName": "Sandbox User",
                "userPrincipalName": "sandbox@example.com",
            }
        )

    @app.post("/microsoft/graph/v1.0/me/onlineMeetings", include_in_schema=False)
    async def graph_meeting(request: Request) -> Response:
        grant = bearer(request, "microsoft")
        if isinstance(grant, JSONResponse):
            return grant
        body = dict(await request.json())
        mid = f"MSo{secrets.token_urlsafe(12)}"
        meeting = {
            "id": mid,
            "subject": body.get("subject"),
            "startDateTime": body.get("startDateTime"),
            "endDateTime": body.get("endDateTime"),
            "joinWebUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{mid}%40thread.v2/0",
            "joinMeetingIdSettings": {"joinMeetingId": "1234567890", "passcode": "sandbox"},
        }
        with st.lock:
            st.meetings.append({"provider": "microsoft_teams", **meeting})
        return JSONResponse(meeting, status_code=201)

    # ------------------------------------------------------------------ controls

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(
            "<h1>Provider sandbox</h1><p>NOT PRODUCTION: stand-ins for Google, Slack, GitHub, "
            "Notion, Zoom and Microsoft. See tools/provider-sandbox/README.md.</p>"
        )

    @app.post("/_sandbox/config", include_in_schema=False)
    async def config(request: Request) -> Response:
        body = dict(await request.json())
        if "access_ttl" in body:
            st.access_ttl = int(body["access_ttl"])
        for p, d in (body.get("delays") or {}).items():
            st.delays[p] = float(d)
        return JSONResponse({"access_ttl": st.access_ttl, "delays": st.delays})

    @app.post("/_sandbox/fail", include_in_schema=False)
    async def fail(request: Request) -> Response:
        """``{provider, kind: token|api, status, count}``: the next calls answer ``status``."""
        body = dict(await request.json())
        with st.lock:
            st.failures.setdefault(body["provider"], []).extend(
                [(body.get("kind", "token"), int(body.get("status", 503)))]
                * int(body.get("count", 1))
            )
        return JSONResponse({"queued": len(st.failures[body["provider"]])})

    @app.post("/_sandbox/revoke-all", include_in_schema=False)
    async def revoke_all(request: Request) -> Response:
        """Revoke every grant of ``provider``: refreshes answer invalid_grant from now on."""
        provider = (await request.json())["provider"]
        with st.lock:
            grants = {id(g): g for g in st.refresh.values() if g.provider == provider}
        for g in grants.values():
            g.revoked = True
        return JSONResponse({"revoked": len(grants)})

    @app.post("/_sandbox/grants", include_in_schema=False)
    async def grants(request: Request) -> Response:
        """``{provider, count}``: that many live grants at once (benchmarks); their refresh
        tokens."""
        body = dict(await request.json())
        out = []
        with st.lock:
            for n in range(int(body.get("count", 1))):
                rt = f"{body['provider']}-rt-{secrets.token_urlsafe(18)}"
                st.refresh[rt] = Grant(
                    provider=body["provider"], user=f"bench-{n}", scope="", refresh_token=rt
                )
                out.append(rt)
        return JSONResponse(out)

    @app.get("/_sandbox/token-calls", include_in_schema=False)
    async def token_calls() -> Response:
        return JSONResponse(st.token_calls)

    @app.post("/_sandbox/google/calendars/{calendar}/events", include_in_schema=False)
    async def seed_google(calendar: str, request: Request) -> Response:
        """Seed or change events (a list of Google event resources; ``id`` optional)."""
        body = await request.json()
        out = []
        for ev in body if isinstance(body, list) else [body]:
            ev = dict(ev)
            ev["id"] = ev.get("id") or uuid.uuid4().hex
            with st.lock:
                old = st.calendars.get(calendar, {}).get(ev["id"])
            if old is not None:
                old.update(ev)
                ev = old
            out.append(g_event(g_put(calendar, ev)))
        return JSONResponse(out)

    @app.get("/_sandbox/google/calendars/{calendar}/events", include_in_schema=False)
    async def read_google(calendar: str) -> Response:
        with st.lock:
            return JSONResponse([g_event(e) for e in st.calendars.get(calendar, {}).values()])

    @app.post("/_sandbox/google/expire-sync-tokens", include_in_schema=False)
    async def expire_sync_tokens() -> Response:
        with st.lock:
            st.google_min_sync_seq = st.google_seq + 1
        return JSONResponse({"ok": True})

    @app.post("/_sandbox/github/repos/{owner}/{repo}/issues", include_in_schema=False)
    async def seed_issue(owner: str, repo: str, request: Request) -> Response:
        body = dict(await request.json())
        full = f"{owner}/{repo}"
        with st.lock:
            issues = st.repos.setdefault(full, {})
            number = int(body.get("number") or (max(issues, default=0) + 1))
            issue = issues.get(number) or {"number": number, "created_at": gh_time()}
            issue.update(
                {
                    "title": body.get("title", issue.get("title", f"Issue {number}")),
                    "body": body.get("body", issue.get("body")),
                    "state": body.get("state", issue.get("state", "open")),
                    "is_pull": bool(body.get("is_pull", issue.get("is_pull", False))),
                    "updated_at": gh_time(),
                }
            )
            issues[number] = issue
        return JSONResponse(gh_issue(full, issue), status_code=201)

    @app.get("/_sandbox/github/repos/{owner}/{repo}/issues/{number}", include_in_schema=False)
    async def read_issue(owner: str, repo: str, number: int) -> Response:
        with st.lock:
            issue = st.repos.get(f"{owner}/{repo}", {}).get(number)
        if issue is None:
            return _error(404, {"message": "Not Found"})
        return JSONResponse(gh_issue(f"{owner}/{repo}", issue))

    @app.get("/_sandbox/slack/messages", include_in_schema=False)
    async def slack_messages() -> Response:
        with st.lock:
            return JSONResponse(list(st.slack_messages))

    @app.get("/_sandbox/notion/pages", include_in_schema=False)
    async def notion_pages() -> Response:
        with st.lock:
            return JSONResponse(list(st.notion_pages.values()))

    @app.get("/_sandbox/meetings", include_in_schema=False)
    async def meetings() -> Response:
        with st.lock:
            return JSONResponse(list(st.meetings))

    return app


def integrations_env(base_url: str) -> dict[str, str]:
    """The integrations service's provider base URLs, all pointed at a sandbox at ``base_url``."""
    b = base_url.rstrip("/")
    return {
        "GOOGLE_OAUTH_URL": f"{b}/google/accounts",
        "GOOGLE_TOKEN_URL": f"{b}/google/oauth2",
        "GOOGLE_API_URL": f"{b}/google/api",
        "SLACK_URL": f"{b}/slack",
        "GITHUB_OAUTH_URL": f"{b}/github",
        "GITHUB_API_URL": f"{b}/github/api",
        "NOTION_URL": f"{b}/notion",
        "ZOOM_OAUTH_URL": f"{b}/zoom",
        "ZOOM_API_URL": f"{b}/zoom/api",
        "MICROSOFT_LOGIN_URL": f"{b}/microsoft/login",
        "MICROSOFT_GRAPH_URL": f"{b}/microsoft/graph",
    }
