"""A small service with everything /metrics reports: templated routes, an outbox and its relay,
a consumer that can be made to fail, a scrape-time gauge and a WebSocket; real PostgreSQL and NATS.
(Imported by name: the tests use --import-mode=importlib.)"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import httpx
import uvicorn
from fastapi import APIRouter, WebSocket
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Column, MetaData, String, Table, Uuid, insert, select
from vc_common.app import create_service_app
from vc_common.context import Context
from vc_common.errors import NotFound
from vc_common.events.consumer import Consumer
from vc_common.events.envelope import CloudEvent
from vc_common.events.outbox import add_event
from vc_common.events.tables import install_event_tables
from vc_common.metrics import SqlGauge
from vc_common.models import NAMING_CONVENTION
from vc_common.ports import free_port
from vc_common.settings import ServiceSettings
from vc_common.tables import install_common_tables
from vc_common.testing.plugin import wait_for
from vc_common.uow import SessionDep

# a context of its own per run: the NATS stream and the durable consumer never collide
CTX = f"obs{uuid.uuid4().hex[:8]}"
CREATED = f"{CTX}.note.created"

metadata = MetaData(naming_convention=NAMING_CONVENTION)
install_common_tables(metadata)
event_tables = install_event_tables(metadata)
notes = Table(
    "notes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(20), nullable=False),
)
handled = Table("handled", metadata, Column("event_id", Uuid, primary_key=True))

router = APIRouter(prefix="/api/v1")


@router.post("/notes/{kind}", status_code=201)
async def create_note(kind: str, session: SessionDep) -> dict[str, str]:
    note_id = uuid.uuid4()
    await session.execute(insert(notes).values(id=note_id, kind=kind))
    await add_event(
        session, event_tables, source="obs", type=CREATED, subject=note_id, data={"kind": kind}
    )
    return {"id": str(note_id)}


@router.get("/notes/{note_id}")
async def get_note(note_id: uuid.UUID, session: SessionDep) -> dict[str, str]:
    row = (await session.execute(select(notes).where(notes.c.id == note_id))).first()
    if row is None:
        raise NotFound("No such note.")
    return {"id": str(row.id), "kind": row.kind}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("a bug")


@router.websocket("/live/{room}")
async def live(websocket: WebSocket, room: str) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"{room}:{text}")


consumer = Consumer(f"obs-{CTX}", max_deliver=2, backoff=(0.05,), batch_size=10)


@consumer.on(CREATED)
async def on_created(ctx: Context, event: CloudEvent) -> None:
    if event.data["kind"] == "poison":
        raise ValueError("this consumer cannot take poison")
    await ctx.session.execute(insert(handled).values(event_id=event.id))


GAUGES = [SqlGauge("vc_obs_notes", "Notes kept", "SELECT count(*) FROM notes")]


def create_app() -> Any:
    settings = ServiceSettings(service_name="obs")
    return create_service_app(
        settings,
        title="obs",
        routers=[router],
        metadata=metadata,
        consumers=[consumer],
        gauges=GAUGES,
    )


class Scrape:
    """One parsed /metrics answer."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [
            (s.name, s.labels, s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        """The sample ``name`` whose labels include ``labels`` (None when there is none)."""
        found = [v for n, ls, v in self.samples if n == name and labels.items() <= ls.items()]
        assert len(found) <= 1, f"{name}{labels} is ambiguous: {found}"
        return found[0] if found else None

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [ls for n, ls, _ in self.samples if n == name]


async def scrape(client: httpx.AsyncClient) -> Scrape:
    resp = await client.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return Scrape(resp.text)


@contextlib.asynccontextmanager
async def serving(app: Any) -> Any:
    """``app`` served by uvicorn on a free loopback port, in this event loop."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: asyncio.sleep(0, server.started), within=10)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
