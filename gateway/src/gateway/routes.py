"""The route table: which service answers a public path, built once from platform.toml.

Patterns: ``*`` matches exactly one (non-empty) path segment; a trailing ``/**`` matches the prefix
itself and everything below it. The most specific pattern wins: more literal segments first, then
more segments, then an exact pattern over a ``/**`` one. Matching walks a segment trie, so its cost
grows with the depth of the path, not with the number of routes.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("gateway.routes")

CONFIG_NAME = "platform.toml"


class ConfigError(Exception):
    """platform.toml is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Service:
    """A service and where its replicas listen. ``base_url`` may name several replicas,
    comma-separated (``<NAME>_URL`` as the dev runner exports it), or ``base_urls`` lists them;
    after construction ``base_urls`` holds every replica's URL and ``base_url`` the first one."""

    name: str
    base_url: str  # no trailing slash; the first replica's once built
    routes: tuple[str, ...]
    base_urls: tuple[str, ...] = ()
    # "METHOD /pattern" routes that need no access token (the service authenticates them its
    # own way: login, a signed webhook, a feed token, a signed URL); see PublicRoutes
    public: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        given = self.base_urls or tuple(self.base_url.split(","))
        urls = tuple(u.strip().rstrip("/") for u in given if u.strip())
        if not urls:
            raise ConfigError(f"service {self.name} has no upstream URL")
        object.__setattr__(self, "base_urls", urls)
        object.__setattr__(self, "base_url", urls[0])


@dataclass(frozen=True, slots=True)
class Route:
    pattern: str
    service: Service
    specificity: tuple[int, int, int]
    order: int


@dataclass(slots=True)
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    star: _Node | None = None
    exact: Route | None = None
    prefix: Route | None = None


def split_pattern(pattern: str) -> list[str]:
    if not pattern.startswith("/"):
        raise ConfigError(f"route pattern must start with '/': {pattern!r}")
    segs = pattern.strip("/").split("/") if pattern.strip("/") else []
    for i, s in enumerate(segs):
        if s == "**" and i != len(segs) - 1:
            raise ConfigError(f"'**' is only allowed as the last segment: {pattern!r}")
        if s == "" or (s not in ("*", "**") and ("*" in s)):
            raise ConfigError(f"bad segment {s!r} in route pattern {pattern!r}")
    return segs


def _specificity(segs: Sequence[str]) -> tuple[int, int, int]:
    is_prefix = bool(segs) and segs[-1] == "**"
    body = segs[:-1] if is_prefix else segs
    literals = sum(1 for s in body if s != "*")
    return (literals, len(body), 0 if is_prefix else 1)


def parse_public(entry: str) -> tuple[str, list[str]]:
    """``"POST /api/v1/meetings/webhooks/*"`` -> ``("POST", [segments])``."""
    method, _, pattern = entry.strip().partition(" ")
    if method not in {"GET", "POST", "PUT", "PATCH", "DELETE"} or not pattern:
        raise ConfigError(f"public route must be 'METHOD /pattern': {entry!r}")
    return method, split_pattern(pattern.strip())


def _segments_match(pattern: Sequence[str], segs: Sequence[str]) -> bool:
    if pattern and pattern[-1] == "**":
        body = pattern[:-1]
        return len(segs) >= len(body) and _segments_match(body, segs[: len(body)])
    return len(pattern) == len(segs) and all(
        p == s or (p == "*" and s) for p, s in zip(pattern, segs, strict=True)
    )


class PublicRoutes:
    """The routes every service declares public in platform.toml (``public = [...]``), in one
    place: the gateway lets them through without a token, the merged OpenAPI marks them so.
    A ``HEAD`` is public where its ``GET`` is."""

    def __init__(self, services: Sequence[Service]) -> None:
        self.entries = [(m, p) for s in services for m, p in map(parse_public, s.public)]

    def allows(self, method: str, segs: Sequence[str]) -> bool:
        method = "GET" if method == "HEAD" else method
        return any(m == method and _segments_match(p, segs) for m, p in self.entries)

    def allows_template(self, method: str, path: str) -> bool:
        """For an OpenAPI path template: ``{param}`` segments count as ``*``."""
        segs = [("x" if s.startswith("{") else s) for s in path.strip("/").split("/")]
        return self.allows(method.upper(), segs)


class RouteTable:
    def __init__(self, services: Sequence[Service]) -> None:
        self.services: dict[str, Service] = {s.name: s for s in services}
        self.public = PublicRoutes(services)
        self._root = _Node()
        order = 0
        for service in services:
            for pattern in service.routes:
                self._add(pattern, service, order)
                order += 1

    def _add(self, pattern: str, service: Service, order: int) -> None:
        segs = split_pattern(pattern)
        route = Route(pattern, service, _specificity(segs), order)
        node = self._root
        is_prefix = bool(segs) and segs[-1] == "**"
        for s in segs[:-1] if is_prefix else segs:
            if s == "*":
                if node.star is None:
                    node.star = _Node()
                node = node.star
            else:
                node = node.literal.setdefault(s, _Node())
        slot = "prefix" if is_prefix else "exact"
        existing: Route | None = getattr(node, slot)
        if existing is not None:
            log.warning(
                "route %r of %s ignored: %s already routes the same pattern %r",
                pattern,
                service.name,
                existing.service.name,
                existing.pattern,
            )
            return
        setattr(node, slot, route)

    def match_segments(self, segs: Sequence[str]) -> Route | None:
        """The most specific route for the (decoded) path segments, or ``None``."""
        best: Route | None = None
        n = len(segs)
        # Iterative DFS over (node, index): few nodes are ever visited.
        stack: list[tuple[_Node, int]] = [(self._root, 0)]
        while stack:
            node, i = stack.pop()
            cand = node.prefix
            if cand is not None and (
                best is None
                or cand.specificity > best.specificity
                or (cand.specificity == best.specificity and cand.order < best.order)
            ):
                best = cand
            if i == n:
                cand = node.exact
                if cand is not None and (
                    best is None
                    or cand.specificity > best.specificity
                    or (cand.specificity == best.specificity and cand.order < best.order)
                ):
                    best = cand
                continue
            seg = segs[i]
            child = node.literal.get(seg)
            if child is not None:
                stack.append((child, i + 1))
            if node.star is not None and seg:
                stack.append((node.star, i + 1))
        return best

    def match(self, path: str) -> Route | None:
        stripped = path.strip("/")
        return self.match_segments(stripped.split("/") if stripped else [])


# --- platform.toml ------------------------------------------------------------------------------


def find_config(env: Mapping[str, str] | None = None) -> Path:
    """``PLATFORM_CONFIG``, else the first platform.toml up from the cwd, else up from here."""
    env = os.environ if env is None else env
    explicit = env.get("PLATFORM_CONFIG")
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"PLATFORM_CONFIG names no file: {path}")
        return path
    for origin in (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (origin.resolve(), *origin.resolve().parents):
            candidate = directory / CONFIG_NAME
            if candidate.is_file():
                return candidate
    raise ConfigError(f"no {CONFIG_NAME} found above {Path.cwd()} (set PLATFORM_CONFIG)")


def env_key(name: str) -> str:
    return name.upper().replace("-", "_")


def load_services(path: Path, env: Mapping[str, str] | None = None) -> list[Service]:
    """Every ``[services.<name>]`` of platform.toml with its upstream base URLs: ``<NAME>_URL``
    (one URL, or the comma-separated URLs of its replicas), else ``http://127.0.0.1:<port>``
    (``<NAME>_PORT`` overrides the port, as in the dev runner)."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    raw = data.get("services", {})
    if not isinstance(raw, dict):
        raise ConfigError("[services] must be a table of [services.<name>] tables")
    services: list[Service] = []
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"[services.{name}] must be a table")
        routes = table.get("routes", [])
        if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
            raise ConfigError(f"[services.{name}] routes must be a list of strings")
        for r in routes:
            split_pattern(r)
        public = table.get("public", [])
        if not isinstance(public, list) or not all(isinstance(r, str) for r in public):
            raise ConfigError(f"[services.{name}] public must be a list of 'METHOD /pattern'")
        for r in public:
            parse_public(r)
        url = env.get(f"{env_key(name)}_URL")
        if not url:
            port = env.get(f"{env_key(name)}_PORT") or table.get("port")
            if port is None:
                raise ConfigError(f"[services.{name}] needs a port (or set {env_key(name)}_URL)")
            url = f"http://127.0.0.1:{int(port)}"
        services.append(
            Service(name=name, base_url=url.rstrip("/"), routes=tuple(routes), public=tuple(public))
        )
    return services
