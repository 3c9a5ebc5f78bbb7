"""The built web client at `/`: files of the build, the SPA fallback, and the API untouched."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from gateway_testlib import GatewayFactory
from yarl import URL

Client = TestClient[Any, Any]

INDEX = '<!doctype html><div id="root"></div><script src="/assets/app-1a2b.js"></script>'


def build(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-1a2b.js").write_text("console.log('board')")
    (root / "assets" / "app-1a2b.js.gz").write_bytes(gzip.compress(b"console.log('board')"))
    (root / "favicon.svg").write_text("<svg/>")
    return root


async def test_the_build_is_served_with_a_page_for_every_client_path(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gw: Client = await make_gateway(gateway_web_dir=str(build(tmp_path / "dist")))
    for path in ("/", "/board", "/teams/0190/chat", "/verify"):
        resp = await gw.get(path)
        assert resp.status == 200, path
        assert await resp.text() == INDEX
        assert resp.headers["Content-Type"].startswith("text/html")
        assert resp.headers["Cache-Control"] == "no-cache"
    resp = await gw.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert await resp.text() == "console.log('board')"
    assert resp.headers["Content-Encoding"] == "gzip"
    assert "immutable" in resp.headers["Cache-Control"]
    assert (await gw.get("/favicon.svg")).headers["Cache-Control"] == "no-cache"


async def test_the_api_and_missing_files_are_not_pages(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gw: Client = await make_gateway(gateway_web_dir=str(build(tmp_path / "dist")))
    resp = await gw.get("/api/v1/nothing-here")
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert (await gw.get("/api/v1/users/me")).status == 401  # still routed and guarded
    resp = await gw.get("/assets/gone-9f8e.js")
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert (await gw.post("/board")).status == 405
    raw = URL("/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd", encoded=True)
    assert (await gw.get(raw)).status == 400
    assert await (await gw.get("/etc/passwd")).text() == INDEX  # a page, never a file outside
    assert (await gw.get("/openapi.json")).headers["Content-Type"].startswith("application/json")
    assert (await gw.get("/metrics")).status == 404  # operators' paths are never pages


async def test_no_build_no_pages(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    gw: Client = await make_gateway(gateway_web_dir=str(tmp_path / "dist"))
    resp = await gw.get("/")
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    build(tmp_path / "dist")  # built while the gateway runs: served from the next request on
    assert (await gw.get("/")).status == 200
    off: Client = await make_gateway(gateway_web_dir="off")
    assert (await off.get("/")).status == 404
