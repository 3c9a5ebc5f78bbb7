"""GitHub issues ↔ tasks of a chosen board.

A sync lists the repository's issues changed since the last one (``GET
/repos/{owner}/{repo}/issues?state=all&since=...&sort=updated&direction=asc``, 100 a page,
following the ``Link: rel="next"`` header; pull requests, which the endpoint also lists, are
skipped). A new issue becomes a task (in the board's first column that is not done, or in the
done column if the issue is closed), through the tasks public API as the connecting user
(``integrations.tasks_api``); a known one keeps its task in step: its title, and closed ↔ in the
done column. The other way, :func:`on_task_changed` closes, reopens or renames the issue when
its task is completed, reopened or renamed (``PATCH /repos/{owner}/{repo}/issues/{number}``).
``IssueLink.state`` remembers the last state either side wrote, so an echo (our own change
coming back as an event or a webhook) is not sent back.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from vc_common.context import Context

from integrations.connections.models import Integration
from integrations.crypto import Secret
from integrations.github import repository
from integrations.github.models import IssueLink
from integrations.providers.api import call
from integrations.runtime import Runtime
from integrations.syncs.models import SyncLog

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def _columns(board: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    cols = sorted(board.get("columns") or [], key=lambda c: c.get("order", 0))
    open_col = next((c for c in cols if not c.get("is_done")), None)
    done_col = next((c for c in cols if c.get("is_done")), None)
    if open_col is None or done_col is None:
        raise ValueError("the board needs a column that is not done and a done column")
    return uuid.UUID(open_col["id"]), uuid.UUID(done_col["id"])


def _parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")) if ts else None


async def run(ctx: Context, rt: Runtime, i: Integration, token: Secret, log: SyncLog) -> int:
    cfg = i.config or {}
    repo = cfg["repository"]
    board_id = uuid.UUID(str(cfg["board_id"]))
    board = await rt.tasks.board(i.user_id, board_id)
    open_col, done_col = _columns(board)
    params: dict[str, Any] = {
        "state": "all",
        "sort": "updated",
        "direction": "asc",
        "per_page": 100,
    }
    if i.sync_cursor and log.sync_type != "full":
        params["since"] = i.sync_cursor
    url: str | None = f"{rt.settings.github_api_url}/repos/{repo}/issues"
    changed = 0
    newest: datetime | None = _parse(i.sync_cursor)
    while url:
        resp = await call(rt, "github", "GET", url, token, params=params, headers=HEADERS)
        issues = [it for it in resp.json() if "pull_request" not in it]
        links = await repository.links_by_number(
            ctx.session, i.id, [int(it["number"]) for it in issues]
        )
        for issue in issues:
            changed += await _apply_issue(ctx, rt, i, issue, links, open_col, done_col)
            updated = _parse(issue.get("updated_at"))
            if updated and (newest is None or updated > newest):
                newest = updated
        match = _NEXT.search(resp.headers.get("link", ""))
        url, params = (match.group(1), {}) if match else (None, {})
    if newest is not None:
        i.sync_cursor = newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    await ctx.session.flush()
    return changed


async def _apply_issue(
    ctx: Context,
    rt: Runtime,
    i: Integration,
    issue: dict[str, Any],
    links: dict[int, IssueLink],
    open_col: uuid.UUID,
    done_col: uuid.UUID,
) -> int:
    number = int(issue["number"])
    title = str(issue.get("title") or f"Issue #{number}")[:500]
    state = "closed" if issue.get("state") == "closed" else "open"
    link = links.get(number)
    if link is None:
        body = str(issue.get("body") or "")[:19_000]
        description = f"{body}\n\n{issue.get('html_url', '')}".strip()
        task = await rt.tasks.create_task(
            i.user_id,
            done_col if state == "closed" else open_col,
            title,
            description,
            idempotency_key=uuid.uuid5(i.id, f"github-issue-{number}-{i.generation}"),
        )
        link = IssueLink(
            integration_id=i.id,
            issue_number=number,
            task_id=uuid.UUID(task["id"]),
            title=title,
            state=state,
            issue_updated_at=_parse(issue.get("updated_at")),
        )
        await repository.add_link(ctx.session, link)
        links[number] = link
        return 1
    changed = False
    if title != link.title:
        await rt.tasks.update_task(i.user_id, link.task_id, {"title": title})
        link.title = title
        changed = True
    if state != link.state:
        await rt.tasks.move_task(
            i.user_id, link.task_id, done_col if state == "closed" else open_col
        )
        link.state = state
        changed = True
    link.issue_updated_at = _parse(issue.get("updated_at"))
    return int(changed)


async def update_issue(
    rt: Runtime, i: Integration, token: Secret, number: int, fields: dict[str, Any]
) -> None:
    repo = (i.config or {})["repository"]
    await call(
        rt,
        "github",
        "PATCH",
        f"{rt.settings.github_api_url}/repos/{repo}/issues/{number}",
        token,
        json=fields,
        headers=HEADERS,
    )
