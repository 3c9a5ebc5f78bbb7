"""Background work of a service: periodic jobs, each tick one unit of work.

::

    async def fire_due_reminders(ctx: Context) -> int:
        rows = await repo.claim_due(ctx.session, ctx.now(), limit=500)  # FOR UPDATE SKIP LOCKED
        for r in rows:
            await events.reminder_due(ctx.session, r)   # the outbox, same transaction
        return len(rows)

    create_service_app(..., jobs=[Job("reminders", fire_due_reminders, every=5.0, batch=500)])

A tick opens a unit of work, builds the app's :class:`~vc_common.context.Context` (no actor: the
system acts), runs the job and commits; an exception rolls the tick back and the job runs again
after a backoff. Claim rows with ``FOR UPDATE SKIP LOCKED`` and do the work in the same unit of
work as its outbox write: then two replicas never take the same row, and a crash at any line
leaves the row to be claimed again, with nothing published for it.

When a tick returns ``batch`` or more (there may be more due), the next tick starts at once; a
job that returns ``None`` or fewer waits ``every`` seconds (with jitter, so replicas spread out).
:func:`run_job` runs one tick, for tests that move the clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from vc_common.context import Context, context_for
from vc_common.db import Database

log = logging.getLogger("vc.jobs")

JobFn = Callable[[Context], Awaitable[int | None]]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn
    every: float = 5.0
    batch: int | None = None
    first_delay: float | None = None
    max_backoff: float = 60.0


async def run_job(app: Any, job: Job | str) -> int:
    """One tick of ``job`` in its own unit of work; what the job returned (0 for ``None``)."""
    the: Job = app.state.jobs[job] if isinstance(job, str) else job
    db: Database = app.state.db
    async with db.unit_of_work() as session:
        done = await the.run(context_for(app, session))
    return int(done or 0)


async def _loop(app: Any, job: Job) -> None:
    delay = job.every * random.random() if job.first_delay is None else job.first_delay
    failures = 0
    while True:
        await asyncio.sleep(delay)
        try:
            done = await run_job(app, job)
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            delay = min(job.max_backoff, job.every * 2**failures)
            log.exception(
                "job %s failed (%d in a row); next try in %.1fs", job.name, failures, delay
            )
            continue
        failures = 0
        if job.batch is not None and done >= job.batch:
            delay = 0.0
        else:
            delay = job.every * (0.8 + 0.4 * random.random())


def start_jobs(app: Any, jobs: Sequence[Job], stack: AsyncExitStack) -> None:
    """Start one loop per job; stopped (cancelled, then awaited briefly) on shutdown."""
    app.state.jobs = {j.name: j for j in jobs}
    tasks = [asyncio.create_task(_loop(app, j), name=f"job-{j.name}") for j in jobs]

    async def stop() -> None:
        for t in tasks:
            t.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5)
            for t in pending:
                log.warning("job %s did not stop within 5s", t.get_name())

    stack.push_async_callback(stop)
