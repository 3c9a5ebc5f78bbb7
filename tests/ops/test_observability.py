"""The dashboard and the alert rules name only metrics the platform exports, and the rules are
valid Prometheus (promtool, where it is installed) and fire on the incidents they describe."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy/observability"
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}
METRIC = re.compile(r"\bvc_[a-z0-9_]+\b")


def exported() -> set[str]:
    """Every series name the services and the gateway can export: the process registry (request,
    consumer and pipeline metrics; the gateway's are the same series) plus each service's own
    scrape-time gauges, read from the apps themselves."""
    import gateway.metrics  # noqa: F401  (registers nothing new, but must import cleanly)

    names: set[str] = set()
    for family in REGISTRY.collect():
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    services = tomllib.loads((ROOT / "platform.toml").read_text())["services"]
    for svc in services.values():
        module = importlib.import_module(svc["app"].split(":")[0])
        app = module.create_app()
        names |= {g.name for g in app.state.metric_gauges}
    return names


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("expr", "query", "definition") and isinstance(v, str):
                yield v
            else:
                yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def dashboard_exprs() -> list[str]:
    return list(_walk(json.loads((OBS / "dashboard.json").read_text())))


def rule_exprs() -> list[str]:
    rules = yaml.safe_load((OBS / "alerts.yaml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def test_every_metric_the_dashboard_and_alerts_name_is_exported() -> None:
    names = exported()
    assert "vc_http_requests_total" in names
    assert "vc_focus_sessions_running" in names  # a service's own gauge
    for source, exprs in (("dashboard", dashboard_exprs()), ("alerts", rule_exprs())):
        referenced = {m for e in exprs for m in METRIC.findall(e)}
        assert len(referenced) >= 8, source
        missing = referenced - names
        assert not missing, f"{source} names metrics nobody exports: {sorted(missing)}"


def test_the_alerts_cover_what_operations_asked_for() -> None:
    exprs = " ".join(rule_exprs())
    for metric in (
        "vc_outbox_oldest_unsent_age_seconds",
        "vc_consumer_pending_events",
        "vc_consumer_dead_letters_total",
        'vc_http_requests_total{status=~"5.."}',
    ):
        assert metric in exprs


def test_the_dashboard_is_well_formed() -> None:
    dash = json.loads((OBS / "dashboard.json").read_text())
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in dash["panels"]}
    for row in ("Golden signals per service", "Event pipeline", "Realtime and queues"):
        assert row in titles
    for panel in dash["panels"]:
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert all(t["expr"] for t in panel["targets"])


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_checks_and_unit_tests_the_rules() -> None:
    for args in (["check", "rules", "alerts.yaml"], ["test", "rules", "alerts-test.yaml"]):
        result = subprocess.run(
            ["promtool", *args], cwd=OBS, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_gateway_routes_no_metrics_endpoint_publicly() -> None:
    """Services serve /metrics on their own port; no platform.toml route sends /metrics (or a
    service's /metrics under any prefix) through the gateway, and it is none of the gateway's
    own public endpoints."""
    from gateway.app import Gateway
    from gateway.routes import RouteTable, load_services
    from gateway.settings import GatewaySettings

    services = load_services(ROOT / "platform.toml", env={})
    table = RouteTable(services)
    assert table.match_segments(["metrics"]) is None
    for svc in services:
        for pattern in svc.routes:
            assert not pattern.rstrip("/").endswith("/metrics"), pattern
    gateway = Gateway(GatewaySettings(), table)
    assert "/metrics" not in gateway.local
