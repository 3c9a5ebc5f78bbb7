"""One OpenAPI 3 document for every public route: each service's ``/openapi.json``, cut down to
the paths the gateway routes to that service, merged, with the bearer security scheme added."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from gateway.routes import RouteTable

log = logging.getLogger("gateway.openapi")

HIDDEN_PATHS = frozenset({"/livez", "/readyz", "/health", "/openapi.json", "/docs"})
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
BEARER = "bearerAuth"
WEBSOCKETS = "x-websockets"  # each service's WebSocket routes (see vc_common.openapi)


def _path_segments(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """``node`` with every ``$ref`` in ``renames`` replaced (a new structure)."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v in renames:
                out[k] = renames[v]
            else:
                out[k] = _rewrite_refs(v, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def _prefix(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("-", "_").split("_"))


def merge(docs: Mapping[str, Mapping[str, Any]], table: RouteTable) -> dict[str, Any]:
    """Merge each service's document (``{service name: openapi doc}``)."""
    paths: dict[str, Any] = {}
    sockets: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, Any] = {}
    for service, doc in docs.items():
        src_components: Mapping[str, Any] = doc.get("components") or {}
        renames: dict[str, str] = {}
        # Pick the names first, so refs can be rewritten before anything is copied.
        for section, items in src_components.items():
            if not isinstance(items, dict):
                continue
            target = components.setdefault(section, {})
            for name, value in items.items():
                if name in target and target[name] != value:
                    new = f"{_prefix(service)}{name}"
                    n = 2
                    while new in target and target[new] != value:
                        new = f"{_prefix(service)}{name}{n}"
                        n += 1
                    renames[f"#/components/{section}/{name}"] = f"#/components/{section}/{new}"
        for section, items in src_components.items():
            if not isinstance(items, dict):
                continue
            target = components.setdefault(section, {})
            for name, value in items.items():
                ref = f"#/components/{section}/{name}"
                new_name = renames[ref].rsplit("/", 1)[1] if ref in renames else name
                target[new_name] = _rewrite_refs(value, renames)
        for path, item in (doc.get("paths") or {}).items():
            if path in HIDDEN_PATHS:
                continue
            route = table.match_segments(_path_segments(path))
            if route is None or route.service.name != service:
                continue
            item = _rewrite_refs(copy.deepcopy(item), renames)
            for method, op in item.items():
                if method in HTTP_METHODS and isinstance(op, dict):
                    # platform.toml's public routes, the same ones the gateway lets through
                    public = table.public.allows_template(method, path)
                    if public or not path.startswith("/api/v1/"):
                        op["security"] = []
                    else:
                        op.setdefault("security", [{BEARER: []}])
                    for tag in op.get("tags", []):
                        tags.setdefault(tag, {"name": tag})
            paths[path] = item
        for path, socket in (doc.get(WEBSOCKETS) or {}).items():
            route = table.match_segments(_path_segments(path))
            if route is not None and route.service.name == service:
                sockets[path] = socket
        for tag in doc.get("tags") or []:
            if isinstance(tag, dict) and "name" in tag:
                tags[tag["name"]] = tag
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from POST /api/v1/auth/login",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "VirtualCoworking API",
            "version": "1.0.0",
            "description": "Every public route of the platform, through the gateway.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": components,
        "security": [{BEARER: []}],
        "tags": sorted(tags.values(), key=lambda t: t["name"]),
        WEBSOCKETS: dict(sorted(sockets.items())),
    }


class OpenAPICache:
    """The merged document, rebuilt at most every ``ttl`` seconds, or on the next request after a
    failed fetch; a service that cannot be fetched contributes its last good document."""

    def __init__(self, table: RouteTable, ttl: float = 60.0, timeout: float = 5.0) -> None:
        self.table = table
        self.ttl = ttl
        self.timeout = timeout
        self._doc: bytes | None = None
        self._built_at = 0.0
        self._complete = False
        self._last_good: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()

    async def _fetch(self, session: aiohttp.ClientSession, service: str) -> dict[str, Any] | None:
        url = self.table.services[service].base_url + "/openapi.json"
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                if resp.status != 200:
                    log.warning("openapi of %s: HTTP %s", service, resp.status)
                    return None
                doc = await resp.json(content_type=None)
                return doc if isinstance(doc, dict) else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("openapi of %s: %s", service, type(exc).__name__)
            return None

    async def get(self, session: aiohttp.ClientSession) -> bytes:
        fresh = self._doc is not None and self._complete
        if fresh and time.monotonic() - self._built_at < self.ttl:
            assert self._doc is not None
            return self._doc
        async with self._lock:
            if (
                self._doc is not None
                and self._complete
                and time.monotonic() - self._built_at < self.ttl
            ):
                return self._doc
            names = list(self.table.services)
            fetched = await asyncio.gather(*(self._fetch(session, n) for n in names))
            complete = True
            docs: dict[str, dict[str, Any]] = {}
            for name, doc in zip(names, fetched, strict=True):
                if doc is None:
                    complete = False
                    doc = self._last_good.get(name)
                else:
                    self._last_good[name] = doc
                if doc is not None:
                    docs[name] = doc
            self._doc = orjson.dumps(merge(docs, self.table))
            self._built_at = time.monotonic()
            self._complete = complete
            return self._doc


# Swagger UI is served from the swagger-ui-bundle wheel (a pinned release), never from a CDN: the
# docs of a self-hosted platform work on a machine without internet access.
DOCS_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")


def docs_asset(name: str) -> tuple[bytes, str]:
    from swagger_ui_bundle import swagger_ui_path

    kind = {"css": "text/css", "js": "application/javascript", "png": "image/png"}
    return (Path(swagger_ui_path) / name).read_bytes(), kind[name.rsplit(".", 1)[1]]


SWAGGER_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>VirtualCoworking API</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
                                 persistAuthorization: true});
  </script>
</body>
</html>
"""
