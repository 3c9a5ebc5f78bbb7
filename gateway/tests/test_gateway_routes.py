from __future__ import annotations

from pathlib import Path

import pytest
from gateway.routes import ConfigError, RouteTable, Service, load_services


def table() -> RouteTable:
    return RouteTable(
        [
            Service("teams", "http://t", ("/api/v1/teams/**",)),
            Service("tasks", "http://k", ("/api/v1/teams/*/boards/**", "/api/v1/boards/**")),
            Service("focus", "http://f", ("/api/v1/teams/*/focus/now", "/api/v1/focus/**")),
            Service("chat", "http://c", ("/api/v1/teams/*/rooms", "/api/v1/rooms/*/ws")),
            Service("identity", "http://i", ("/api/v1/users/**", "/.well-known/jwks.json")),
            Service("analytics", "http://a", ("/api/v1/users/me/analytics",)),
        ]
    )


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/teams", "teams"),
        ("/api/v1/teams/", "teams"),
        ("/api/v1/teams/42", "teams"),
        ("/api/v1/teams/42/members/7", "teams"),
        ("/api/v1/teams/42/boards", "tasks"),
        ("/api/v1/teams/42/boards/extra/deep", "tasks"),
        ("/api/v1/boards/9", "tasks"),
        ("/api/v1/teams/42/focus/now", "focus"),
        ("/api/v1/teams/42/focus/now/more", "teams"),
        ("/api/v1/teams/42/rooms", "chat"),
        ("/api/v1/rooms/5/ws", "chat"),
        ("/api/v1/users/me", "identity"),
        ("/api/v1/users/me/analytics", "analytics"),
        ("/.well-known/jwks.json", "identity"),
    ],
)
def test_most_specific_pattern_wins(path: str, service: str) -> None:
    route = table().match(path)
    assert route is not None
    assert route.service.name == service


@pytest.mark.parametrize(
    "path",
    ["/", "/api", "/api/v1", "/api/v1/rooms/5", "/api/v1/rooms/5/ws/x", "/.well-known/other"],
)
def test_unrouted_paths_match_nothing(path: str) -> None:
    assert table().match(path) is None


def test_star_needs_a_non_empty_segment() -> None:
    assert table().match("/api/v1/rooms//ws") is None


@pytest.mark.parametrize("pattern", ["api/v1", "/api/**/x", "/api/v1/te*ms"])
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ConfigError):
        RouteTable([Service("x", "http://x", (pattern,))])


def test_load_services_from_platform_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "platform.toml"
    cfg.write_text(
        '[gateway]\napp = "gateway.app:create_app"\nport = 8000\n'
        '[services.identity]\napp = "identity.app:create_app"\nport = 8101\n'
        'routes = ["/api/v1/auth/**"]\n'
        '[services.focus-timer]\napp = "f.app:create_app"\nport = 8105\n'
        'routes = ["/api/v1/focus/**"]\n'
    )
    services = load_services(cfg, env={"FOCUS_TIMER_URL": "http://focus:9000/"})
    assert [(s.name, s.base_url, s.routes) for s in services] == [
        ("identity", "http://127.0.0.1:8101", ("/api/v1/auth/**",)),
        ("focus-timer", "http://focus:9000", ("/api/v1/focus/**",)),
    ]


def test_the_repository_platform_toml_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    services = load_services(root / "platform.toml", env={})
    assert "identity" in {s.name for s in services}
    assert RouteTable(services).match("/api/v1/users/me") is not None
