"""/metrics of a service built with create_service_app, scraped as Prometheus would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import websockets
from sqlalchemy import text
from vc_common.ports import free_port
from vc_common.testing.plugin import wait_for
from vc_obs_kit import CREATED, Scrape, consumer, scrape, serving


def _requests(s: Scrape, route: str, status: str, method: str = "GET") -> float:
    labels = {"service": "obs", "method": method, "route": route, "status": status}
    return s.value("vc_http_requests_total", **labels) or 0.0


async def test_requests_are_counted_and_timed_by_route_template(
    client: httpx.AsyncClient, app: Any
) -> None:
    before = await scrape(client)
    ids = []
    for kind in ("a", "b"):
        resp = await client.post(f"/api/v1/notes/{kind}")
        assert resp.status_code == 201
        ids.append(resp.json()["id"])
    for note_id in [*ids, str(uuid.uuid4())]:  # two found, one 404
        await client.get(f"/api/v1/notes/{note_id}")
    assert (await client.get("/no/such/path/x1")).status_code == 404
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as crashing:
        assert (await crashing.get("/api/v1/boom")).status_code == 500
    after = await scrape(client)

    def grew(route: str, status: str, method: str = "GET") -> float:
        return _requests(after, route, status, method) - _requests(before, route, status, method)

    assert grew("/api/v1/notes/{kind}", "201", "POST") == 2
    assert grew("/api/v1/notes/{note_id}", "200") == 2
    assert grew("/api/v1/notes/{note_id}", "404") == 1
    assert grew("unmatched", "404") == 1
    assert grew("/api/v1/boom", "500") == 1
    routes = {ls["route"] for ls in after.labels_of("vc_http_requests_total")}
    assert not any(note_id in r for r in routes for note_id in ids), "raw paths leaked"
    assert "/no/such/path/x1" not in routes
    count = after.value(
        "vc_http_request_duration_seconds_count",
        service="obs",
        method="GET",
        route="/api/v1/notes/{note_id}",
    )
    assert count is not None
    assert count >= 3
    # the scrape-time gauge reads the service's own database (this test's transaction)
    assert after.value("vc_obs_notes", service="obs") == 2 + (before.value("vc_obs_notes") or 0)


async def test_the_event_pipeline_is_measured(
    live_client: httpx.AsyncClient, live_app: Any
) -> None:
    """Relay and consumer for real (NATS): published, applied, retried and dead-lettered events,
    the outbox backlog and the pool."""
    before = await scrape(live_client)
    name = consumer.name

    def outcome(s: Scrape, what: str) -> float:
        return s.value("vc_consumer_events_total", consumer=name, outcome=what) or 0.0

    assert (await live_client.post("/api/v1/notes/plain")).status_code == 201
    assert (await live_client.post("/api/v1/notes/poison")).status_code == 201

    async def settled() -> Scrape | None:
        s = await scrape(live_client)
        done = outcome(s, "applied") - outcome(before, "applied") >= 1
        dead = outcome(s, "dead_lettered") - outcome(before, "dead_lettered") >= 1
        return s if done and dead else None

    after = await wait_for(settled, within=30)
    assert outcome(after, "retried") - outcome(before, "retried") >= 1
    redeliveries = after.value("vc_consumer_redeliveries_total", consumer=name) or 0.0
    assert redeliveries - (before.value("vc_consumer_redeliveries_total", consumer=name) or 0) >= 1
    assert (after.value("vc_consumer_dead_letters_total", consumer=name) or 0) >= 1
    assert after.value("vc_consumer_pending_events", consumer=name) is not None
    published = after.value("vc_outbox_published_total", service="obs") or 0.0
    assert published - (before.value("vc_outbox_published_total", service="obs") or 0) == 2
    assert after.value("vc_outbox_pending_events", service="obs") == 0
    assert after.value("vc_outbox_oldest_unsent_age_seconds", service="obs") == 0
    assert after.value("vc_event_bus_connected", service="obs") == 1
    assert after.value("vc_db_pool_size", service="obs") == live_app.state.settings.db_pool_size
    assert after.value("vc_db_pool_checked_out", service="obs") is not None
    batches = after.value("vc_consumer_batch_duration_seconds_count", consumer=name)
    assert batches is not None
    assert batches >= 2


async def test_an_unsent_event_shows_as_backlog_and_age(
    live_client: httpx.AsyncClient, live_app: Any
) -> None:
    """An event the relay has not sent yet (here: one written straight into the outbox with an
    old timestamp and a far ``next_attempt_at``) is the backlog and its age."""
    db = live_app.state.db
    event_id = uuid.uuid4()
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO outbox (id, type, subject, payload, created_at, next_attempt_at) "
                "VALUES (:id, :type, 'x', '{}', now() - interval '10 minutes', "
                "now() + interval '1 hour')"
            ),
            {"id": event_id, "type": CREATED},
        )
    try:
        s = await scrape(live_client)
        assert (s.value("vc_outbox_pending_events", service="obs") or 0) >= 1
        assert (s.value("vc_outbox_oldest_unsent_age_seconds", service="obs") or 0) >= 600
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM outbox WHERE id = :id"), {"id": event_id})


async def test_websocket_connections_are_counted_while_open(live_app: Any) -> None:
    """A real server and a real WebSocket client: the gauge rises while the socket is open and
    falls when it closes, labelled by route template."""
    labels = {"service": "obs", "route": "/api/v1/live/{room}"}
    async with serving(live_app) as addr, httpx.AsyncClient(base_url=f"http://{addr}") as http:
        base = (await scrape(http)).value("vc_websocket_connections", **labels) or 0.0
        async with websockets.connect(f"ws://{addr}/api/v1/live/r1") as ws:
            await ws.send("hi")
            assert await ws.recv() == "r1:hi"
            s = await scrape(http)
            assert s.value("vc_websocket_connections", **labels) == base + 1
            assert (s.value("vc_websocket_connections_opened_total", **labels) or 0) >= 1

        async def closed() -> bool:
            s = await scrape(http)
            return bool(s.value("vc_websocket_connections", **labels) == base)

        assert await wait_for(closed, within=10)


async def test_metrics_is_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert "/metrics" not in doc["paths"]
    assert "/livez" not in doc["paths"]


async def test_livez_needs_nothing_and_readyz_only_its_own_database() -> None:
    """With its database unreachable a service is alive (the kubelet must not restart it) but not
    ready (no traffic until the database is back)."""
    from vc_common.app import create_service_app
    from vc_common.settings import ServiceSettings
    from vc_obs_kit import metadata as obs_metadata

    settings = ServiceSettings(
        service_name="obsdown",
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
        events_enabled=False,
    )
    app = create_service_app(settings, title="down", routers=[], metadata=obs_metadata)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        assert (await http.get("/livez")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["status"] == "fail"
        assert (await http.get("/metrics")).status_code == 200  # still scrapeable
