"""Notion: the tasks of a board exported to a Notion database, one page per task.

``POST https://api.notion.com/v1/pages`` (``Notion-Version: 2022-06-28``) with ``parent:
{database_id}`` and the properties ``Name`` (title: the task's title) and ``Status`` (select: its
column's name); a task exported before is updated in place (``PATCH /v1/pages/{page_id}``), so
exporting twice never duplicates. The database must have those two properties.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from vc_common.context import Context

from integrations.connections.models import Integration
from integrations.crypto import Secret
from integrations.notion.models import NotionPage
from integrations.providers.api import call
from integrations.runtime import Runtime
from integrations.syncs.models import SyncLog

HEADERS = {"Notion-Version": "2022-06-28"}


def _properties(task: dict[str, Any], column: str) -> dict[str, Any]:
    return {
        "Name": {"title": [{"type": "text", "text": {"content": str(task["title"])[:2000]}}]},
        "Status": {"select": {"name": column[:100]}},
    }


async def run(ctx: Context, rt: Runtime, i: Integration, token: Secret, log: SyncLog) -> int:
    del log
    cfg = i.config or {}
    board = await rt.tasks.board(i.user_id, uuid.UUID(str(cfg["board_id"])))
    pages = {
        p.task_id: p
        for p in (
            await ctx.session.execute(select(NotionPage).where(NotionPage.integration_id == i.id))
        ).scalars()
    }
    exported = 0
    for column in board.get("columns") or []:
        for task in column.get("tasks") or []:
            task_id = uuid.UUID(str(task["id"]))
            props = _properties(task, str(column.get("name") or ""))
            page = pages.get(task_id)
            if page is None:
                resp = await call(
                    rt,
                    "notion",
                    "POST",
                    f"{rt.settings.notion_url}/v1/pages",
                    token,
                    json={"parent": {"database_id": cfg["database_id"]}, "properties": props},
                    headers=HEADERS,
                )
                ctx.session.add(
                    NotionPage(integration_id=i.id, task_id=task_id, page_id=resp.json()["id"])
                )
            else:
                await call(
                    rt,
                    "notion",
                    "PATCH",
                    f"{rt.settings.notion_url}/v1/pages/{page.page_id}",
                    token,
                    json={"properties": props},
                    headers=HEADERS,
                )
            exported += 1
    await ctx.session.flush()
    return exported
