"""Each provider's OAuth 2 authorization-code flow, as its documentation describes it.

- ``google_calendar``: accounts.google.com/o/oauth2/v2/auth (``access_type=offline``,
  ``prompt=consent``), token at oauth2.googleapis.com/token; PKCE S256; client secret in the
  body; the refresh token comes once and is kept.
- ``slack``: slack.com/oauth/v2/authorize (bot scopes, comma-separated), token at
  slack.com/api/oauth.v2.access (errors are HTTP 200 ``{"ok":false,"error":...}``); PKCE S256;
  Basic auth; with token rotation ``refresh_token`` + ``expires_in``.
- ``github``: github.com/login/oauth/authorize, token at github.com/login/oauth/access_token
  (``Accept: application/json``; errors are HTTP 200 ``{"error":"bad_verification_code"}``);
  PKCE S256 (since 2025-07); expiring user tokens refresh, a dead one is ``bad_refresh_token``.
- ``notion``: api.notion.com/v1/oauth/authorize (``owner=user``), token at
  api.notion.com/v1/oauth/token with a JSON body and Basic auth; no PKCE, no scopes;
  ``refresh_token`` without ``expires_in``.
- ``zoom``: zoom.us/oauth/authorize, token at zoom.us/oauth/token; PKCE S256; Basic auth; one
  hour tokens, the refresh token rotates on every refresh.
- ``microsoft_teams``: login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize and /token;
  PKCE S256; client secret in the body; ``offline_access`` for a refresh token.

A refresh refused for good (the grant is revoked or expired) answers ``invalid_grant`` (RFC 6749
section 5.2) or the provider's own name for it (:attr:`Provider.dead_grant_errors`): the
integration then needs its user to reconnect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from integrations.settings import Settings


class IntegrationType(StrEnum):
    GOOGLE_CALENDAR = "google_calendar"
    SLACK = "slack"
    GITHUB = "github"
    NOTION = "notion"
    ZOOM = "zoom"
    MICROSOFT_TEAMS = "microsoft_teams"


@dataclass(frozen=True)
class TokenSet:
    """A token endpoint's answer, normalised. ``account`` holds what identifies the connected
    account (never a secret): shown to the user and used by syncs (Slack team, Notion
    workspace, GitHub login...)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scope: str | None
    account: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Provider:
    type: IntegrationType
    authorize_url: Callable[[Settings], str]
    token_url: Callable[[Settings], str]
    client: Callable[[Settings], tuple[str, str]]
    scopes: tuple[str, ...]
    pkce: bool
    token_auth: str  # Authlib's token_endpoint_auth_method
    scope_separator: str = " "
    extra_authorize: dict[str, str] = field(default_factory=dict)
    json_token_body: bool = False
    account: Callable[[dict[str, Any]], dict[str, Any]] = lambda _t: {}
    dead_grant_errors: frozenset[str] = frozenset({"invalid_grant"})
    default_sync_type: str = "full"

    @property
    def scope(self) -> str:
        return self.scope_separator.join(self.scopes)

    def tokens(self, raw: dict[str, Any], now: datetime, previous_refresh: str | None) -> TokenSet:
        """Normalise a token response (of a code exchange or a refresh)."""
        expires_in = raw.get("expires_in")
        expires_at = None
        if expires_in not in (None, "", 0):
            expires_at = now + timedelta(seconds=int(expires_in))
        refresh = raw.get("refresh_token") or previous_refresh
        return TokenSet(
            access_token=str(raw["access_token"]),
            refresh_token=str(refresh) if refresh else None,
            expires_at=expires_at,
            scope=str(raw["scope"]) if raw.get("scope") else None,
            account=self.account(raw),
        )


def _slack_account(raw: dict[str, Any]) -> dict[str, Any]:
    team = raw.get("team") or {}
    return {
        "team_id": team.get("id"),
        "team_name": team.get("name"),
        "bot_user_id": raw.get("bot_user_id"),
        "authed_user_id": (raw.get("authed_user") or {}).get("id"),
    }


def _notion_account(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "workspace_id": raw.get("workspace_id"),
        "workspace_name": raw.get("workspace_name"),
        "bot_id": raw.get("bot_id"),
    }


def _zoom_account(raw: dict[str, Any]) -> dict[str, Any]:
    return {"api_url": raw.get("api_url")} if raw.get("api_url") else {}


PROVIDERS: dict[IntegrationType, Provider] = {
    IntegrationType.GOOGLE_CALENDAR: Provider(
        type=IntegrationType.GOOGLE_CALENDAR,
        authorize_url=lambda s: f"{s.google_oauth_url}/o/oauth2/v2/auth",
        token_url=lambda s: f"{s.google_token_url}/token",
        client=lambda s: (s.google_client_id, s.google_client_secret),
        scopes=("https://www.googleapis.com/auth/calendar.events",),
        pkce=True,
        token_auth="client_secret_post",
        extra_authorize={
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
        },
        default_sync_type="incremental",
    ),
    IntegrationType.SLACK: Provider(
        type=IntegrationType.SLACK,
        authorize_url=lambda s: f"{s.slack_url}/oauth/v2/authorize",
        token_url=lambda s: f"{s.slack_url}/api/oauth.v2.access",
        client=lambda s: (s.slack_client_id, s.slack_client_secret),
        scopes=("chat:write", "channels:read"),
        scope_separator=",",
        pkce=True,
        token_auth="client_secret_basic",
        account=_slack_account,
        dead_grant_errors=frozenset({"invalid_grant", "invalid_refresh_token", "token_revoked"}),
        default_sync_type="channel_check",
    ),
    IntegrationType.GITHUB: Provider(
        type=IntegrationType.GITHUB,
        authorize_url=lambda s: f"{s.github_oauth_url}/login/oauth/authorize",
        token_url=lambda s: f"{s.github_oauth_url}/login/oauth/access_token",
        client=lambda s: (s.github_client_id, s.github_client_secret),
        scopes=("repo",),
        pkce=True,
        token_auth="client_secret_post",
        dead_grant_errors=frozenset({"invalid_grant", "bad_refresh_token"}),
        default_sync_type="issues",
    ),
    IntegrationType.NOTION: Provider(
        type=IntegrationType.NOTION,
        authorize_url=lambda s: f"{s.notion_url}/v1/oauth/authorize",
        token_url=lambda s: f"{s.notion_url}/v1/oauth/token",
        client=lambda s: (s.notion_client_id, s.notion_client_secret),
        scopes=(),
        pkce=False,
        token_auth="client_secret_basic",
        extra_authorize={"owner": "user"},
        json_token_body=True,
        account=_notion_account,
        default_sync_type="export",
    ),
    IntegrationType.ZOOM: Provider(
        type=IntegrationType.ZOOM,
        authorize_url=lambda s: f"{s.zoom_oauth_url}/oauth/authorize",
        token_url=lambda s: f"{s.zoom_oauth_url}/oauth/token",
        client=lambda s: (s.zoom_client_id, s.zoom_client_secret),
        scopes=("meeting:write:meeting", "user:read:user"),
        pkce=True,
        token_auth="client_secret_basic",
        account=_zoom_account,
        default_sync_type="account_check",
    ),
    IntegrationType.MICROSOFT_TEAMS: Provider(
        type=IntegrationType.MICROSOFT_TEAMS,
        authorize_url=lambda s: (
            f"{s.microsoft_login_url}/{s.microsoft_tenant}/oauth2/v2.0/authorize"
        ),
        token_url=lambda s: f"{s.microsoft_login_url}/{s.microsoft_tenant}/oauth2/v2.0/token",
        client=lambda s: (s.microsoft_client_id, s.microsoft_client_secret),
        scopes=("offline_access", "User.Read", "OnlineMeetings.ReadWrite"),
        pkce=True,
        token_auth="client_secret_post",
        default_sync_type="account_check",
    ),
}


def provider(integration_type: str) -> Provider | None:
    try:
        return PROVIDERS[IntegrationType(integration_type)]
    except ValueError:
        return None
