"""Tasks → GitHub: a linked task completed, reopened or renamed closes, reopens or renames its
issue. Consumes ``tasks.task.completed``, ``tasks.task.reopened``, ``tasks.task.updated``."""

from __future__ import annotations

import uuid

from vc_common.context import Context
from vc_common.errors import Conflict
from vc_common.events.envelope import CloudEvent

from integrations.connections import service as connections
from integrations.consumers import consumer
from integrations.github import repository
from integrations.github.sync import update_issue
from integrations.runtime import runtime


@consumer.on("tasks.task.completed", "tasks.task.reopened", "tasks.task.updated")
async def on_task_changed(ctx: Context, event: CloudEvent) -> None:
    data = event.data
    try:
        task_id = uuid.UUID(str(data["task_id"]))
    except (KeyError, ValueError):
        return
    link = await repository.link_of_task(ctx.session, task_id, lock=True)
    if link is None:
        return
    fields: dict[str, str] = {}
    if event.type == "tasks.task.completed" and link.state != "closed":
        fields["state"] = "closed"
    elif event.type == "tasks.task.reopened" and link.state != "open":
        fields["state"] = "open"
    elif event.type == "tasks.task.updated":
        title = str(data.get("title") or "")
        if title and title != link.title:
            fields["title"] = title
    if not fields:
        return  # an echo of what the issue already says
    try:
        i, token = await connections.fresh_access_token(ctx, link.integration_id)
    except (connections.RefreshFailed, Conflict):
        return  # a disconnected (or needs-reconnect) integration stops mirroring
    await update_issue(runtime(ctx), i, token, link.issue_number, fields)
    link.state = fields.get("state", link.state)
    link.title = fields.get("title", link.title)
    await ctx.session.flush()
