"""The gateway's Prometheus metrics, on a port of their own (``GATEWAY_METRICS_PORT``): the API
port is public, the metrics port is only for the cluster's Prometheus (the Ingress and the
NetworkPolicy never expose it).

Requests are the same series as the services' (``vc_http_requests_total``,
``vc_http_request_duration_seconds``) with ``service="gateway"`` and ``route`` the platform.toml
pattern that matched (``/api/v1/teams/*/boards/**``), the gateway's own endpoint, or
``unmatched``: never the raw path. ``GATEWAY_WORKERS`` > 1 processes would each count their own
requests; on Kubernetes run one worker per pod and scale pods.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from vc_common.metrics import HTTP_DURATION, HTTP_REQUESTS, IN_FLIGHT, UNMATCHED, render

# request[ROUTE_KEY]: the platform.toml pattern (or own endpoint) that _dispatch matched
ROUTE_KEY: web.RequestKey[str] = web.RequestKey("vc_route", str)

_counters: dict[tuple[str, str, int], Any] = {}
_timers: dict[tuple[str, str], Any] = {}
IN_FLIGHT["gateway"] = 0


def started() -> None:
    IN_FLIGHT["gateway"] += 1


def finished() -> None:
    IN_FLIGHT["gateway"] -= 1


def observe(request: web.BaseRequest, status: int, seconds: float) -> None:
    route = request.get(ROUTE_KEY, UNMATCHED)
    key = (request.method, route, status)
    counter = _counters.get(key)
    if counter is None:
        counter = _counters[key] = HTTP_REQUESTS.labels("gateway", key[0], route, str(status))
    counter.inc()
    tkey = (request.method, route)
    timer = _timers.get(tkey)
    if timer is None:
        timer = _timers[tkey] = HTTP_DURATION.labels("gateway", *tkey)
    timer.observe(seconds)


async def _metrics(_request: web.BaseRequest) -> web.StreamResponse:
    body, kind = render()
    return web.Response(body=body, headers={"Content-Type": kind, "Cache-Control": "no-store"})


async def start_metrics_site(host: str, port: int) -> web.ServerRunner:
    """Serve ``/metrics`` (and nothing else) on ``host:port``; clean up the returned runner."""

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        if request.path != "/metrics":
            return web.Response(status=404, text="only /metrics here\n")
        return await _metrics(request)

    runner = web.ServerRunner(web.Server(handler, access_log=None), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
