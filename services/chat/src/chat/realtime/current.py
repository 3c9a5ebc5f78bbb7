"""The replica's hub, for code that runs outside a request (event consumers)."""

from __future__ import annotations

from chat.realtime.hub import Hub

_current: list[Hub] = []


def set_current_hub(hub: Hub | None) -> None:
    _current.clear()
    if hub is not None:
        _current.append(hub)


def current_hub() -> Hub | None:
    return _current[0] if _current else None
