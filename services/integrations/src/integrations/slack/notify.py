"""Slack: a chosen channel hears when a task of the team is completed or a meeting starts.

The integration's config names the VirtualCoworking ``team_id`` and the Slack ``channel``. Messages
go through ``POST https://slack.com/api/chat.postMessage`` with the bot token (JSON body). Slack
answers HTTP 200 with ``{"ok": false, "error": ...}`` when it refuses; ``invalid_auth``,
``token_revoked``, ``account_inactive`` mean the grant is dead (needs reconnect), anything else
is retried by the consumer's backoff. The "sync" of a Slack integration (``channel_check``)
checks the token (``auth.test``) and the channel (``conversations.info``).
"""

from __future__ import annotations

from typing import Any

from vc_common.context import Context

from integrations.connections.models import Integration
from integrations.crypto import Secret
from integrations.providers.api import ApiError, call
from integrations.runtime import Runtime
from integrations.syncs.models import SyncLog

DEAD = {"invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired"}


async def _slack(
    rt: Runtime, method: str, token: Secret, *, json: Any = None, params: Any = None
) -> dict[str, Any]:
    resp = await call(
        rt,
        "slack",
        "POST" if json is not None else "GET",
        f"{rt.settings.slack_url}/api/{method}",
        token,
        json=json,
        params=params,
    )
    body: dict[str, Any] = resp.json()
    if not body.get("ok"):
        err = str(body.get("error") or "error")
        raise ApiError("slack", 401 if err in DEAD else 200, err)
    return body


async def check(ctx: Context, rt: Runtime, i: Integration, token: Secret, log: SyncLog) -> int:
    del ctx, log
    await _slack(rt, "auth.test", token, json={})
    channel = (i.config or {}).get("channel")
    if channel:
        await _slack(rt, "conversations.info", token, params={"channel": channel})
    return 1


async def post(rt: Runtime, i: Integration, token: Secret, text: str) -> str:
    """Post ``text`` to the integration's channel; the message's ``ts``."""
    body = await _slack(
        rt,
        "chat.postMessage",
        token,
        json={"channel": (i.config or {})["channel"], "text": text, "unfurl_links": False},
    )
    return str(body.get("ts", ""))
