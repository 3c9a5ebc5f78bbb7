from __future__ import annotations

from typing import Any

import pytest
from identity.deps import client_ip
from identity.settings import Settings
from starlette.requests import Request


class _App:
    def __init__(self) -> None:
        self.state = type("S", (), {"settings": Settings()})()


def request(peer: str, xff: str | None) -> Request:
    headers = [(b"x-forwarded-for", xff.encode())] if xff else []
    scope: dict[str, Any] = {
        "type": "http",
        "headers": headers,
        "client": (peer, 1234),
        "app": _App(),
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "10.9.9.9, 203.0.113.9", "203.0.113.9"),  # right-most untrusted
        ("127.0.0.1", "203.0.113.9, 127.0.0.1", "203.0.113.9"),
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),  # untrusted peer: header ignored
        ("127.0.0.1", "garbage", "127.0.0.1"),
    ],
)
def test_client_ip_trusts_forwarded_for_only_from_trusted_proxies(
    peer: str, xff: str | None, expected: str
) -> None:
    assert client_ip(request(peer, xff)) == expected
