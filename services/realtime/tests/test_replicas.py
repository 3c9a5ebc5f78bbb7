"""Two replicas at once, with real commits: the presence job's claim gives each user to one
replica, and one replica leads the stream (the other takes over when it stops)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from realtime.models import Presence, membership
from realtime.presence import service as presence
from realtime.stream.leader import LeaderConsumer
from sqlalchemy import func, select
from vc_common.context import context_for
from vc_common.db import Database
from vc_common.events.envelope import CloudEvent
from vc_common.events.nats import NatsBus
from vc_common.jobs import run_job
from vc_common.testing.plugin import MovableClock, wait_for

from .conftest import NATS_URL


async def test_two_racing_presence_jobs_announce_each_change_once(
    live_app: Any, clock: MovableClock
) -> None:
    db: Database = live_app.state.db
    team_id = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(30)]
    async with db.unit_of_work() as session:
        for i, u in enumerate(users):
            await membership.apply_member(session, team_id, u, "member", i + 1)
        ctx = context_for(live_app, session)
        for u in users:  # each online, due to go away in 15 minutes
            await presence.socket_opened(ctx, uuid.uuid4(), u, uuid.uuid4())
    clock.advance(minutes=16)
    claimed = await asyncio.gather(*(run_job(live_app, "presence") for _ in range(2)))
    claimed += await asyncio.gather(*(run_job(live_app, "presence") for _ in range(2)))
    assert sum(claimed) == len(users)
    table = live_app.state.event_tables.outbox
    async with db.sessionmaker() as session:
        away = (
            await session.execute(
                select(func.count())
                .select_from(table)
                .where(
                    table.c.type == "realtime.presence.changed",
                    table.c.payload["data"]["status"].astext == "away",
                    table.c.payload["data"]["team_id"].astext == str(team_id),
                )
            )
        ).scalar_one()
        statuses = set(
            (
                await session.scalars(select(Presence.status).where(Presence.user_id.in_(users)))
            ).all()
        )
    assert away == len(users)  # once each, whichever replica claimed them
    assert statuses == {"away"}


async def test_one_replica_leads_the_stream_and_the_other_takes_over(live_app: Any) -> None:
    db: Database = live_app.state.db
    context = f"rtt{uuid.uuid4().hex[:8]}"
    seen: list[tuple[str, uuid.UUID]] = []

    def replica(name: str) -> LeaderConsumer:
        c = LeaderConsumer(f"{context}-leader", standby_poll=0.2)

        @c.on(f"{context}.>")
        async def handle(ctx: Any, event: CloudEvent) -> None:
            del ctx
            seen.append((name, event.id))

        return c

    a, b = replica("a"), replica("b")
    bus_a, bus_b = NatsBus(NATS_URL), NatsBus(NATS_URL)
    await bus_a.connect()
    await bus_b.connect()
    other_db = Database(db.url)  # the second replica's own pool
    run_a = asyncio.create_task(a.run(db, bus_a))
    await wait_for(lambda: asyncio.sleep(0, a.leading))
    run_b = asyncio.create_task(b.run(other_db, bus_b))
    publisher = NatsBus(NATS_URL)
    await publisher.connect()
    try:
        first = CloudEvent(source=context, type=f"{context}.thing.happened", subject="s", data={})
        await publisher.publish(_message(first))
        await wait_for(lambda: asyncio.sleep(0, len(seen) == 1))
        assert seen == [("a", first.id)]
        assert not b.leading
        run_a.cancel()  # replica a stops: its lock's connection goes back, b takes over
        await wait_for(lambda: asyncio.sleep(0, b.leading), within=15)
        second = CloudEvent(source=context, type=f"{context}.thing.happened", subject="s", data={})
        await publisher.publish(_message(second))
        await wait_for(lambda: asyncio.sleep(0, len(seen) == 2), within=15)
        assert seen[1] == ("b", second.id)
    finally:
        for t in (run_a, run_b):
            t.cancel()
        await asyncio.gather(run_a, run_b, return_exceptions=True)
        await bus_a.delete_consumer(a.spec())
        await bus_a.delete_context(context)
        for bus in (bus_a, bus_b, publisher):
            await bus.close()
        await other_db.dispose()


def _message(event: CloudEvent) -> Any:
    import orjson
    from vc_common.events.bus import OutgoingMessage

    return OutgoingMessage(
        id=str(event.id),
        type=event.type,
        subject=event.subject,
        body=orjson.dumps(event.to_dict()),
    )
