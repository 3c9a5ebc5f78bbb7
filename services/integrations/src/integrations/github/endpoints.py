"""GitHub's webhook route (public: GitHub calls it, verified by its signature)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from vc_common.bodylimit import body_limit
from vc_common.context import PublicContextDep
from vc_common.errors import PROBLEM_RESPONSES

from integrations.github import webhooks

router = APIRouter(
    prefix="/api/v1/integrations/webhooks", tags=["integrations"], responses=PROBLEM_RESPONSES
)


@router.post("/github", status_code=status.HTTP_202_ACCEPTED)
@body_limit(25 * 1024 * 1024)  # GitHub's own cap on a webhook payload
async def github_webhook(request: Request, ctx: PublicContextDep) -> dict[str, Any]:
    """``X-Hub-Signature-256`` verified (401 otherwise), ``X-GitHub-Delivery`` deduplicated."""
    return await webhooks.handle(
        ctx,
        event=request.headers.get("x-github-event"),
        delivery_id=request.headers.get("x-github-delivery"),
        signature=request.headers.get("x-hub-signature-256"),
        body=await request.body(),
    )
