"""Relay operations on a real broker: failing rows back off and die, are re-driven; purge; the
runtime hook degrades gracefully when the broker is down and reports lag for /readyz."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from vc_common.db import Database
from vc_common.events.__main__ import main as cli_main
from vc_common.events.bus import EventBus, OutgoingMessage
from vc_common.events.relay import dead_rows, redrive_dead
from vc_common.events.runtime import event_runtime, outbox_readiness
from vc_events_kit import Buses, free_port, relay_for, tables, wait_until, write_events


class RejectingBus:
    """A real bus that refuses one subject (a per-message error, not an outage)."""

    def __init__(self, inner: EventBus, subject: str) -> None:
        self.inner = inner
        self.subject = subject
        self.reject = True

    @property
    def connected(self) -> bool:
        return self.inner.connected

    async def publish_many(
        self, messages: Sequence[OutgoingMessage], *, ack_timeout: float = 5.0
    ) -> list[BaseException | None]:
        ok = [m for m in messages if not (self.reject and m.subject == self.subject)]
        results = iter(await self.inner.publish_many(ok, ack_timeout=ack_timeout))
        return [
            ValueError("rejected") if self.reject and m.subject == self.subject else next(results)
            for m in messages
        ]


async def _row_state(db: Database) -> list[Any]:
    async with db.engine.connect() as conn:
        return list(
            await conn.execute(
                text(
                    "SELECT subject, sent_at IS NOT NULL AS sent, dead_at IS NOT NULL AS dead, "
                    "attempts "
                    "FROM outbox ORDER BY seq"
                )
            )
        )


async def test_failing_rows_back_off_die_and_are_redriven(
    clean_db: Database, buses: Buses, ctx: str
) -> None:
    db = clean_db
    bus = RejectingBus(await buses.open(), "bad")
    await write_events(db, ctx, ["bad", "good"], 2)
    relay = relay_for(db, bus, ctx, max_attempts=3, backoff_base=0.1)
    relay.start()
    try:

        async def settled() -> bool:
            rows = await _row_state(db)
            return all(r.sent or r.dead for r in rows if r.subject == "good") and any(
                r.dead for r in rows
            )

        await wait_until(settled, 20)
        rows = await _row_state(db)
        good = [r for r in rows if r.subject == "good"]
        bad = [r for r in rows if r.subject == "bad"]
        assert all(r.sent for r in good)
        assert bad[0].dead
        assert bad[0].attempts == 3
        # the first bad row blocked the second (order), which then went once the first died
        dead = await dead_rows(db, tables)
        assert dead[0]["subject"] == "bad"
        assert "rejected" in dead[0]["last_error"]
        assert (await relay.stats(refresh_dead=True)).dead >= 1
        bus.reject = False
        assert await redrive_dead(db, tables, service=ctx) >= 1

        async def all_sent() -> bool:
            return all(r.sent for r in await _row_state(db))

        await wait_until(all_sent, 20)
        # purge keeps recent rows and removes old ones
        assert await relay.purge() == 0
        assert await relay.purge(older_than_hours=0) == 4
    finally:
        await relay.stop()


async def test_runtime_starts_with_the_broker_down_and_reports_lag(
    clean_db: Database, ctx: str
) -> None:
    db = clean_db
    app = SimpleNamespace(
        state=SimpleNamespace(
            db=db, settings=SimpleNamespace(event_bus_url=f"nats://127.0.0.1:{free_port()}")
        )
    )
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        hook = event_runtime(source=ctx, tables=tables, poll_interval=0.2)
        await asyncio.wait_for(hook(app, stack), 2)  # does not block on the broker
        assert app.state.bus is not None
        assert app.state.relay is not None
        await write_events(db, ctx, ["a"], 2)
        await asyncio.sleep(1.2)
        result = await outbox_readiness(app)
        assert result.ok  # a short outage does not take the service out of rotation
        assert result.detail["broker"] == "disconnected"
        assert result.detail["pending"] == 2
        assert result.detail["lag_seconds"] >= 1
        app.state.event_runtime.max_lag_seconds = 0.5
        assert not (await outbox_readiness(app)).ok


def test_cli_lists_and_redrives_dead_rows(capsys: Any, db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    assert cli_main(["--database-url", url, "dead", "list", "--service", "x"]) == 0
    assert capsys.readouterr().out.strip().startswith("[")
    assert cli_main(["--database-url", url, "outbox", "stats", "--service", "x"]) == 0
    assert '"pending"' in capsys.readouterr().out
