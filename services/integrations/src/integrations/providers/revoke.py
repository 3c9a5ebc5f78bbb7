"""Revoking a grant at the provider, where the provider has a way (best effort).

- Google: ``POST oauth2.googleapis.com/revoke`` (``token`` in the form body; the refresh token
  revokes the whole grant).
- Slack: ``POST slack.com/api/auth.revoke`` with the token as bearer.
- GitHub: ``DELETE api.github.com/applications/{client_id}/grant`` (client's Basic auth, JSON
  ``{"access_token": ...}``): removes the whole authorization.
- Notion: ``POST api.notion.com/v1/oauth/revoke`` (Basic auth, JSON ``{"token": ...}``).
- Zoom: ``POST zoom.us/oauth/revoke`` (Basic auth; the token in the form body, never in the
  query string, so no access log carries it).
- Microsoft: no per-grant revocation endpoint for delegated tokens; the tokens are deleted here
  and expire at Microsoft (the user can remove the app's consent in their account).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.crypto import Secret
from integrations.providers.registry import IntegrationType, Provider

if TYPE_CHECKING:
    from integrations.runtime import Runtime


async def revoke(rt: Runtime, p: Provider, access: Secret | None, refresh: Secret | None) -> bool:
    s = rt.settings
    http = rt.http
    client_id, client_secret = p.client(s)
    token = refresh or access
    if token is None:
        return False
    if p.type is IntegrationType.GOOGLE_CALENDAR:
        resp = await http.post(f"{s.google_token_url}/revoke", data={"token": token.reveal()})
    elif p.type is IntegrationType.SLACK:
        if access is None:
            return False
        resp = await http.post(
            f"{s.slack_url}/api/auth.revoke",
            headers={"Authorization": f"Bearer {access.reveal()}"},
        )
        return resp.status_code == 200 and bool(resp.json().get("ok"))
    elif p.type is IntegrationType.GITHUB:
        if access is None:
            return False
        resp = await http.request(
            "DELETE",
            f"{s.github_api_url}/applications/{client_id}/grant",
            json={"access_token": access.reveal()},
            auth=(client_id, client_secret),
            headers={"Accept": "application/vnd.github+json"},
        )
    elif p.type is IntegrationType.NOTION:
        resp = await http.post(
            f"{s.notion_url}/v1/oauth/revoke",
            json={"token": (access or token).reveal()},
            auth=(client_id, client_secret),
        )
    elif p.type is IntegrationType.ZOOM:
        resp = await http.post(
            f"{s.zoom_oauth_url}/oauth/revoke",
            data={"token": token.reveal()},
            auth=(client_id, client_secret),
        )
    else:
        return False
    return resp.status_code < 300
