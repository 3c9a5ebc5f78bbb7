"""What an operator's Prometheus and kubelet see of the running platform: every service and the
gateway answer /metrics in the Prometheus text format, /livez and /readyz; the gateway's public
port never serves /metrics (its own metrics are on a port of their own)."""

from __future__ import annotations

import tomllib
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import PORTS, ROOT, new_user

SERVICES = list(tomllib.loads((ROOT / "platform.toml").read_text())["services"])


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


async def test_every_service_exposes_metrics_and_probes(
    api: httpx.AsyncClient, platform: str, nats_only: None
) -> None:
    del nats_only
    alice = await new_user(api, "ops")
    r = await api.post(
        "/api/v1/focus/sessions", json={"focus_type": "pomodoro"}, headers=alice["headers"]
    )
    assert r.status_code == 201, r.text
    async with httpx.AsyncClient(timeout=10) as http:
        for name in SERVICES:
            base = f"http://127.0.0.1:{PORTS[platform][name]}"
            assert (await http.get(f"{base}/livez")).status_code == 200, name
            assert (await http.get(f"{base}/readyz")).status_code == 200, name
            resp = await http.get(f"{base}/metrics")
            assert resp.status_code == 200, name
            assert resp.headers["content-type"].startswith("text/plain"), name
            families = _families(resp.text)
            for metric in (
                "vc_http_requests",
                "vc_http_request_duration_seconds",
                "vc_db_pool_size",
            ):
                assert metric in families, f"{name} lacks {metric}"
            routes = {s.labels["route"] for s in families["vc_http_requests"].samples}
            assert all(r == "unmatched" or "{" in r or r.startswith("/") for r in routes)
        focus = _families(
            (await http.get(f"http://127.0.0.1:{PORTS[platform]['focus']}/metrics")).text
        )
        running = [s.value for s in focus["vc_focus_sessions_running"].samples]
        assert running
        assert running[0] >= 1
        requests = focus["vc_http_requests"].samples
        assert any(
            s.labels["route"] == "/api/v1/focus/sessions" and s.labels["status"] == "201"
            for s in requests
        )
        # the gateway: /metrics is not a public route; its metrics port has the proxied request,
        # labelled by the platform.toml pattern that routed it
        assert (await api.get("/metrics")).status_code == 404
        gw = await http.get(f"http://127.0.0.1:{PORTS[platform]['gateway']}/metrics")
        assert gw.status_code == 200
        samples = _families(gw.text)["vc_http_requests"].samples
        assert any(
            s.labels["service"] == "gateway"
            and s.labels["route"] == "/api/v1/focus/**"
            and s.labels["status"] == "201"
            for s in samples
        )
