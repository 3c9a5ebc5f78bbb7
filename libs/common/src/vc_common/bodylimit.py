"""Request-body size limits (pure ASGI): a JSON API reads no more than it needs.

Every HTTP request body is limited to ``MAX_BODY_BYTES`` (1 MiB by default): a larger
``Content-Length`` is refused with ``413`` problem+json before a byte of the body is read, and a
body without one (chunked) is refused as soon as what arrived passes the limit, so a 100 MB JSON
document is never buffered or parsed. A route that takes more (an upload) says so on its
endpoint::

    @router.post("/api/v1/teams/{team_id}/files")
    @body_limit(None)  # files bounds what it reads itself (FILES_MAX_BYTES)
    async def upload_file(...): ...

The route is known once the router has matched it (``scope["endpoint"]``); a body read earlier
(the idempotency fingerprint) looks the route up itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "__vc_body_limit__"
_UNSET = object()


def body_limit(max_bytes: int | None) -> Callable[[F], F]:
    """This endpoint's body limit: ``max_bytes``, or ``None`` for none (the route bounds what it
    reads itself). Put it under the route decorator."""

    def mark(fn: F) -> F:
        setattr(fn, _ATTR, max_bytes)
        return fn

    return mark


def _walk(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every route with its path prefix, through included routers (FastAPI keeps those as
    wrappers holding the ``original_router``)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif hasattr(route, "path"):
            yield prefix, route


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than this route takes ({limit} bytes).")
        self.limit = limit


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, routes: Callable[[], Any]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = routes  # the app's router.routes, to find a route not matched yet
        self._found: list[tuple[re.Pattern[str], frozenset[str], int | None]] | None = None

    def _overrides(self) -> list[tuple[re.Pattern[str], frozenset[str], int | None]]:
        """The routes that set their own limit: (path regex, methods, limit), found once."""
        found = self._found
        if found is None:
            found = []
            for prefix, route in _walk(self.routes()):
                limit: Any = getattr(getattr(route, "endpoint", None), _ATTR, _UNSET)
                if limit is not _UNSET:
                    regex, _, _ = compile_path(prefix + route.path)
                    methods = frozenset(getattr(route, "methods", None) or ())
                    found.append((regex, methods, limit))
            self._found = found
        return found

    def _limit_of(self, scope: Scope) -> int | None:
        endpoint = scope.get("endpoint")
        if endpoint is not None:  # the router has matched the route
            limit = getattr(endpoint, _ATTR, _UNSET)
            return self.max_bytes if limit is _UNSET else limit  # type: ignore[return-value]
        path, method = scope.get("path", ""), scope.get("method", "")
        for regex, methods, limit in self._overrides():
            if (not methods or method in methods) and regex.match(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = None
                break
        received = 0
        limit: Any = _UNSET
        started = False

        async def limited_receive() -> Message:
            nonlocal received, limit
            if limit is _UNSET:
                limit = self._limit_of(scope)
                if limit is not None and declared is not None and declared > limit:
                    raise BodyTooLarge(limit)  # nothing of the body has been read
            message = await receive()
            if limit is not None and message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _send_413(send, scope, exc)


async def _send_413(send: Send, scope: Scope, exc: BodyTooLarge) -> None:
    from vc_common.errors import problem

    resp = problem(
        413, str(exc.detail), headers={"Connection": "close"}, instance=scope.get("path")
    )

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await resp(scope, no_body, send)
