"""Sync jobs and their SyncLog: ``pending → in_progress → completed | failed``.

Started by ``POST /integrations/{id}/sync`` (manual), by the ``schedule`` job (Google Calendar and
GitHub, every ``SYNC_INTERVAL_MINUTES``) and by webhooks (GitHub). At most one pending or in
progress per integration: the partial unique index on ``sync_logs`` refuses a second (409).

The ``syncs`` job runs them in three steps, each committed, so the log's state is what others see:

1. claim pending logs ``FOR UPDATE SKIP LOCKED`` and mark them ``in_progress`` with a lease
   (commit: visible, and no other replica will take them);
2. lock the integration, refresh its token in-line if it expires within a minute (commit);
3. lock the log (the runner's liveness: the lock lives as long as its connection), run the
   provider's work in a savepoint, then mark it ``completed`` (records_synced) or ``failed``
   (error_message) with ``integrations.sync.completed|failed`` in the same transaction.

A runner that dies in step 3 loses its lock with its connection; the ``sync-sweeper`` job fails
every ``in_progress`` log whose lease passed and that nobody holds (``SKIP LOCKED``), with the
reason, and publishes ``integrations.sync.failed``: nothing stays ``in_progress`` forever.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from vc_common.context import Context
from vc_common.errors import Conflict, Invalid
from vc_common.pagination import PageParams

from integrations import events
from integrations.connections import repository as connections_repo
from integrations.connections import service as connections
from integrations.connections.models import Integration
from integrations.crypto import Secret
from integrations.providers.api import ApiError
from integrations.runtime import Runtime, runtime
from integrations.syncs import repository
from integrations.syncs.models import SyncLog
from integrations.tasks_api import TasksError

log = logging.getLogger("vc.integrations.syncs")

SyncFn = Callable[[Context, Runtime, Integration, Secret, SyncLog], Awaitable[int]]

#: sync types each integration type runs (the first is the default)
SYNC_TYPES: dict[str, tuple[str, ...]] = {
    "google_calendar": ("incremental", "full"),
    "github": ("issues", "full"),
    "slack": ("channel_check",),
    "notion": ("export",),
    "zoom": ("account_check",),
    "microsoft_teams": ("account_check",),
}
#: what a type needs in its config before it can sync
REQUIRED_CONFIG: dict[str, tuple[str, ...]] = {
    "github": ("repository", "board_id"),
    "slack": ("channel",),
    "notion": ("database_id", "board_id"),
}
SCHEDULED = ("google_calendar", "github")


def _syncer(integration_type: str) -> SyncFn:
    from integrations.github import sync as github
    from integrations.google import sync as google
    from integrations.meetings import links
    from integrations.notion import export
    from integrations.slack import notify

    table: dict[str, SyncFn] = {
        "google_calendar": google.run,
        "github": github.run,
        "slack": notify.check,
        "notion": export.run,
        "zoom": links.check,
        "microsoft_teams": links.check,
    }
    return table[integration_type]


def missing_config(i: Integration) -> list[str]:
    cfg = i.config or {}
    return [k for k in REQUIRED_CONFIG.get(i.integration_type, ()) if not cfg.get(k)]


async def request_sync(
    ctx: Context,
    integration_id: uuid.UUID,
    sync_type: str | None,
    *,
    trigger: str = "manual",
) -> SyncLog:
    i = await connections.get_own(ctx, integration_id)
    return await start(ctx, i, sync_type, trigger=trigger)


async def start(ctx: Context, i: Integration, sync_type: str | None, *, trigger: str) -> SyncLog:
    if not i.is_active:
        raise Conflict(f"The integration is {i.status.replace('_', ' ')}; connect it again.")
    allowed = SYNC_TYPES[i.integration_type]
    kind = sync_type or allowed[0]
    if kind not in allowed:
        raise Invalid(
            f"A {i.integration_type} integration runs {', '.join(allowed)}.",
            loc=["body", "sync_type"],
        )
    missing = missing_config(i)
    if missing:
        raise Invalid(
            f"Set {', '.join(missing)} first (PATCH /api/v1/integrations/{i.id}).",
            loc=["body", "config", *missing[:1]],
        )
    created = await repository.insert_pending(ctx.session, i.id, kind, trigger, ctx.now())
    if created is None:
        raise Conflict("A sync of this integration is already running.")
    return created


async def list_logs(
    ctx: Context, integration_id: uuid.UUID, params: PageParams
) -> tuple[list[Any], str | None]:
    await connections.get_own(ctx, integration_id)
    return await repository.list_for_integration(ctx.session, integration_id, params)


# ---------------------------------------------------------------------------- the jobs


async def run_syncs(ctx: Context) -> int:
    """The ``syncs`` job (see the module docstring)."""
    rt = runtime(ctx)
    claimed = await repository.claim_pending(ctx.session, rt.settings.sync_batch)
    if not claimed:
        return 0
    now = ctx.now()
    lease = timedelta(seconds=rt.settings.sync_lease_seconds)
    for entry in claimed:
        entry.status = "in_progress"
        entry.started_at = now
        entry.lease_until = now + lease
    await ctx.session.commit()  # step 1 is visible: no replica takes these again
    for entry in claimed:
        await _run_one(ctx, rt, entry.id)
    return len(claimed)


def describe(exc: BaseException) -> str:
    """The error_message of a failed sync (never a token: our errors carry none)."""
    if isinstance(exc, ApiError):
        return f"{exc.provider} answered {exc.status}: {exc.code}"
    if isinstance(exc, TasksError):
        return str(exc)
    if isinstance(exc, connections.RefreshFailed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:500]


async def _finish(
    ctx: Context, i: Integration, entry: SyncLog, *, records: int, error: str | None
) -> None:
    now = ctx.now()
    entry.completed_at = now
    entry.lease_until = None
    if error is None:
        entry.status = "completed"
        entry.records_synced = records
        i.last_sync = now
    else:
        entry.status = "failed"
        entry.error_message = error
    if i.integration_type in SCHEDULED and i.is_active:
        i.next_sync_at = now + timedelta(minutes=runtime(ctx).settings.sync_interval_minutes)
    await ctx.session.flush()
    if error is None:
        await events.sync_completed(ctx, i, entry)
    else:
        await events.sync_failed(ctx, i, entry)
    if i.resync_requested and i.is_active:
        i.resync_requested = False
        await repository.insert_pending(
            ctx.session, i.id, SYNC_TYPES[i.integration_type][0], "webhook", now
        )
    await ctx.session.flush()


async def _run_one(ctx: Context, rt: Runtime, log_id: uuid.UUID) -> None:
    entry = await repository.get(ctx.session, log_id, lock=True)
    if entry is None or entry.status != "in_progress":
        await ctx.session.commit()
        return
    integration_id = entry.integration_id
    await ctx.session.commit()
    try:
        i, token = await connections.fresh_access_token(ctx, integration_id)
    except (connections.RefreshFailed, Conflict) as exc:
        await ctx.session.commit()  # a refusal already marked the integration needs_reconnect
        entry = await repository.get(ctx.session, log_id, lock=True)
        i2 = await connections_repo.get(ctx.session, integration_id)
        if entry is not None and i2 is not None and entry.status == "in_progress":
            await _finish(ctx, i2, entry, records=0, error=describe(exc))
        await ctx.session.commit()
        return
    await ctx.session.commit()  # step 2: a refreshed token is kept whatever happens next
    entry = await repository.get(ctx.session, log_id, lock=True)
    if entry is None or entry.status != "in_progress":  # the sweeper gave up on it meanwhile
        await ctx.session.commit()
        return
    records, error = 0, None
    try:
        async with ctx.session.begin_nested():
            records = await _syncer(i.integration_type)(ctx, rt, i, token, entry)
    except Exception as exc:
        error = describe(exc)
        log.warning("sync %s of integration %s failed: %s", log_id, i.id, error)
        await ctx.session.refresh(i)
        await ctx.session.refresh(entry)
        if isinstance(exc, ApiError) and exc.status == 401:
            await connections.mark_needs_reconnect(ctx, i, f"{exc.provider} refused the token")
    await _finish(ctx, i, entry, records=records, error=error)
    await ctx.session.commit()


async def sweep(ctx: Context) -> int:
    """The ``sync-sweeper`` job: fail abandoned in-progress logs with the reason."""
    rows = await repository.claim_abandoned(ctx.session, ctx.now(), 100)
    for entry in rows:
        i = await connections_repo.get(ctx.session, entry.integration_id)
        if i is None:
            continue
        entry.error_message = (
            "interrupted: the sync stopped before it finished (its worker crashed or timed "
            "out); the next sync starts over"
        )
        await _finish(ctx, i, entry, records=0, error=entry.error_message)
        if i.is_active and i.integration_type in SCHEDULED:
            i.next_sync_at = ctx.now()
    return len(rows)


async def schedule(ctx: Context) -> int:
    """The ``schedule`` job: a pending sync for every scheduled integration that is due."""
    rt = runtime(ctx)
    now = ctx.now()
    rows = await repository.claim_scheduled(ctx.session, now, 500)
    started = 0
    for i in rows:
        if i.integration_type not in SCHEDULED or missing_config(i):
            i.next_sync_at = None  # set again when the config changes or on reconnect
            continue
        created = await repository.insert_pending(
            ctx.session, i.id, SYNC_TYPES[i.integration_type][0], "schedule", now
        )
        started += created is not None
        i.next_sync_at = now + timedelta(minutes=rt.settings.sync_interval_minutes)
    await ctx.session.flush()
    return len(rows)
