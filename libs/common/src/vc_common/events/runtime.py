"""Wiring the event backbone into a service: ``on_startup=[event_runtime(...)]``.

::

    app = create_service_app(
        settings, ..., metadata=Base.metadata,
        on_startup=[event_runtime(source="teams", tables=event_tables, consumers=[consumer])],
        readiness={"outbox": outbox_readiness},
    )

The hook connects the bus named by ``app.state.settings.event_bus_url`` (``nats://`` or
``amqp://``), starts the outbox relay and one loop per consumer as tasks, registers their shutdown
on the lifespan's ``AsyncExitStack`` and puts ``app.state.bus``, ``app.state.relay`` and
``app.state.event_runtime`` on the app.

It never blocks or fails start-up on the broker: when the broker is down the connection is retried
in the background (0.5 s doubling to 10 s) while the HTTP API keeps serving; events accumulate in
the outbox and the relay catches up once connected (adapters reconnect by themselves after that).
The relay's lag (age of the oldest unsent event) is the ``vc.outbox.lag`` gauge and the
``outbox`` readiness check (:func:`outbox_readiness`), which fails when the lag exceeds
``max_lag_seconds`` (default 300).

When ``app.state.db`` is bound to a single connection (the test plugin's rolled-back ``app``
fixture) nothing is started: the relay and the consumers need their own connections. Use
``live_app`` for tests of what happens after commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from vc_common.db import Database
from vc_common.events.bus import BrokerUnavailable, EventBus, bus_from_url
from vc_common.events.consumer import Consumer
from vc_common.events.relay import OutboxRelay
from vc_common.events.tables import EventTables
from vc_common.health import CheckResult

log = logging.getLogger("vc.events.runtime")

Hook = Callable[[Any, AsyncExitStack], Awaitable[None]]


@dataclass
class EventRuntime:
    bus: EventBus
    relay: OutboxRelay | None
    consumers: list[Consumer]
    max_lag_seconds: float = 300.0
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop consumers, relay and bus, each within ``grace`` seconds: a shutdown never hangs.

        (On Python 3.11 ``asyncio.wait_for`` can swallow a cancellation that arrives just as
        its inner future completes, so a loop may miss one ``cancel()``; the loops also watch
        the bus's closed flag, and whatever still runs after ``grace`` is left behind with a
        warning rather than awaited forever.)"""
        for t in self.tasks:
            t.cancel()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=grace)
            for t in pending:
                t.cancel()
                log.warning("event task %s did not stop within %.0fs", t.get_name(), grace)
        if self.relay is not None:
            await _within(self.relay.stop(), grace, "outbox relay stop")
        await _within(self.bus.close(), grace * 2, "event bus close")


async def _within(step: Awaitable[None], seconds: float, what: str) -> None:
    """Run ``step`` for at most ``seconds``, then leave it behind with a warning.

    Not ``asyncio.wait_for``: on its timeout it cancels the step and then waits for the step to
    finish cancelling, so a step that does not answer its cancellation (a client library's
    close) hangs the shutdown all the same. (A CI run's lifespan test hung 180 s right after
    the bus had disconnected; which step held it is not known, this one could.)"""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("%s did not finish within %.0fs; left behind", what, seconds)
        return
    failure = None if task.cancelled() else task.exception()
    if failure is not None:
        log.warning("%s failed: %r", what, failure)


async def connect_with_retry(
    bus: EventBus, *, first_delay: float = 0.5, max_delay: float = 10.0
) -> None:
    delay = first_delay
    while True:
        try:
            await bus.connect()
            log.info("event bus connected: %s", bus.kind)
            return
        except BrokerUnavailable as exc:
            log.warning("event bus unavailable (%s); retrying in %.1fs", exc, delay)
        except Exception as exc:
            log.warning("event bus set-up failed (%r); retrying in %.1fs", exc, delay)
            with contextlib.suppress(Exception):
                await bus.close()
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


def _register_lag_gauge(relay: OutboxRelay) -> None:
    try:
        from opentelemetry import metrics
        from opentelemetry.metrics import CallbackOptions, Observation

        def observe(_: CallbackOptions) -> list[Observation]:
            s = relay.last_stats
            if s is None:
                return []
            return [Observation(s.lag_seconds, {"service": relay.service})]

        metrics.get_meter("vc.events").create_observable_gauge(
            "vc.outbox.lag",
            callbacks=[observe],
            unit="s",
            description="Age of the oldest unsent outbox event",
        )
    except Exception:  # metrics are best effort
        log.debug("could not register the outbox lag gauge", exc_info=True)


def event_runtime(
    *,
    source: str,
    tables: EventTables,
    consumers: Sequence[Consumer] = (),
    relay: bool = True,
    bus_url: str | None = None,
    max_lag_seconds: float = 300.0,
    **relay_options: Any,
) -> Hook:
    """The ``on_startup`` hook that runs the relay for ``source``'s outbox and ``consumers``."""

    async def hook(app: Any, stack: AsyncExitStack) -> None:
        app.state.bus = None
        app.state.relay = None
        app.state.event_runtime = None
        db: Database | None = getattr(app.state, "db", None)
        if db is None or not isinstance(db.engine, AsyncEngine):
            log.info("event runtime not started (no database engine of its own)")
            return
        url = bus_url or app.state.settings.event_bus_url
        bus = bus_from_url(url)
        the_relay = OutboxRelay(db, tables, bus, service=source, **relay_options) if relay else None
        rt = EventRuntime(
            bus=bus, relay=the_relay, consumers=list(consumers), max_lag_seconds=max_lag_seconds
        )
        app.state.bus = bus
        app.state.relay = the_relay
        app.state.event_runtime = rt
        stack.push_async_callback(rt.stop)

        async def connect_then_consume() -> None:
            await connect_with_retry(bus)
            async with asyncio.TaskGroup() as tg:
                for c in consumers:
                    tg.create_task(c.run(db, bus), name=f"consumer-{c.name}")

        rt.tasks.append(asyncio.create_task(connect_then_consume(), name=f"events-{source}"))
        if the_relay is not None:
            the_relay.start()
            _register_lag_gauge(the_relay)

    return hook


async def outbox_readiness(app: Any) -> CheckResult:
    """``/readyz`` check: the relay's lag and backlog, and whether the broker is connected.

    Fails only when the oldest unsent event is older than ``max_lag_seconds``: a short broker
    outage is absorbed by the outbox and must not take the service out of rotation.
    """
    rt: EventRuntime | None = getattr(app.state, "event_runtime", None)
    if rt is None or rt.relay is None:
        return CheckResult(True, {"relay": "off"})
    stats = await rt.relay.stats()
    broker = "connected" if rt.bus.connected else "disconnected"
    ok = stats.lag_seconds <= rt.max_lag_seconds
    return CheckResult(ok, {**stats.as_dict(), "broker": broker, "bus": rt.bus.kind})
