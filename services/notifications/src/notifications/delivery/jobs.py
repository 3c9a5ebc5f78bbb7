"""The release job: holds whose ``release_at`` passed are judged again and released (see
:mod:`notifications.delivery.service`)."""

from __future__ import annotations

from vc_common.context import Context

from notifications.delivery.rules import Policy
from notifications.delivery.service import release_due
from notifications.settings import Settings


async def release_due_holds(ctx: Context) -> int:
    settings: Settings = ctx.settings or Settings()
    return await ctx.session.run_sync(
        release_due, ctx.now(), Policy.of(settings), settings.notifications_release_batch
    )
