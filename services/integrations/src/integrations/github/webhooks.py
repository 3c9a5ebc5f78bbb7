"""GitHub webhooks: ``POST /api/v1/integrations/webhooks/github``.

Verified by ``X-Hub-Signature-256`` (``sha256=`` + HMAC-SHA256 of the raw body with the webhook
secret, compared in constant time; missing or wrong: 401), deduplicated by ``X-GitHub-Delivery``
(a redelivery is acknowledged and changes nothing). An ``issues`` event starts a sync of every
active GitHub integration of that repository (``trigger: webhook``); when one is already
running, another runs right after it, so the change is never lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from vc_common.context import Context
from vc_common.errors import Invalid, Unauthorized

from integrations.github import repository
from integrations.runtime import runtime
from integrations.syncs import repository as syncs


def signature_of(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> None:
    # bytes, not str: compare_digest raises on non-ASCII str, and a header may carry any latin-1
    given = (signature or "").encode("utf-8", "surrogatepass")
    if not given or not hmac.compare_digest(signature_of(secret, body).encode(), given):
        raise Unauthorized("The webhook signature does not match.")


async def handle(
    ctx: Context, *, event: str | None, delivery_id: str | None, signature: str | None, body: bytes
) -> dict[str, Any]:
    rt = runtime(ctx)
    verify(rt.settings.github_webhook_secret, body, signature)
    if not delivery_id or not event:
        raise Invalid("X-GitHub-Delivery and X-GitHub-Event are required.", loc=["header"])
    if not await repository.record_delivery(ctx.session, delivery_id[:64], event[:40], ctx.now()):
        return {"status": "duplicate", "syncs_started": 0}
    if event != "issues":
        return {"status": "ignored", "syncs_started": 0}
    try:
        payload = json.loads(body)
        full_name = str(payload["repository"]["full_name"])
    except (ValueError, KeyError, TypeError):
        raise Invalid("The payload has no repository.", loc=["body", "repository"]) from None
    started = 0
    for i in await repository.integrations_of_repository(ctx.session, full_name):
        if not (i.config or {}).get("board_id"):
            continue
        created = await syncs.insert_pending(ctx.session, i.id, "issues", "webhook", ctx.now())
        if created is None:
            i.resync_requested = True
        started += 1
    await ctx.session.flush()
    return {"status": "accepted", "syncs_started": started}
