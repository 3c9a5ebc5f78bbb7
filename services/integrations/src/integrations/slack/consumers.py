"""Slack messages from events: ``tasks.task.completed`` and ``meetings.meeting.started`` of a
team reach the channel of every active Slack integration configured for that team."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from vc_common.context import Context
from vc_common.errors import Conflict
from vc_common.events.envelope import CloudEvent

from integrations.connections import service as connections
from integrations.connections.models import Integration
from integrations.consumers import consumer
from integrations.providers.api import ApiError
from integrations.runtime import runtime
from integrations.slack.notify import post


async def _announce(ctx: Context, team_id: str, text: str) -> None:
    rows = (
        await ctx.session.execute(
            select(Integration.id).where(
                Integration.integration_type == "slack",
                Integration.is_active.is_(True),
                Integration.config["team_id"].astext == team_id,
                Integration.config["channel"].astext.is_not(None),
            )
        )
    ).scalars()
    rt = runtime(ctx)
    for integration_id in list(rows):
        try:
            i, token = await connections.fresh_access_token(ctx, integration_id)
        except (connections.RefreshFailed, Conflict):
            continue
        try:
            await post(rt, i, token, text)
        except ApiError as exc:
            if exc.status == 401:
                await connections.mark_needs_reconnect(ctx, i, f"slack: {exc.code}")
                continue
            raise


def _team(event: CloudEvent) -> str | None:
    try:
        return str(uuid.UUID(str(event.data.get("team_id"))))
    except ValueError:
        return None


@consumer.on("tasks.task.completed")
async def on_task_completed(ctx: Context, event: CloudEvent) -> None:
    team = _team(event)
    if team is None:
        return
    title = str(event.data.get("title") or "a task")
    await _announce(ctx, team, f":white_check_mark: Task completed: *{title}*")


@consumer.on("meetings.meeting.started")
async def on_meeting_started(ctx: Context, event: CloudEvent) -> None:
    team = _team(event)
    if team is None:
        return
    title = str(event.data.get("title") or "A meeting")
    link = event.data.get("meeting_link")
    text = f":movie_camera: Meeting started: *{title}*" + (f" — join: {link}" if link else "")
    await _announce(ctx, team, text)
