"""Domain errors and their RFC 9457 ``application/problem+json`` rendering.

Services raise ``NotFound``, ``Forbidden``, ``Conflict``, ``Invalid``... and never
``HTTPException``; one set of handlers installed by :func:`install_error_handlers` turns them,
validation errors, malformed JSON and unexpected exceptions into problem documents.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from vc_common.redisclient import RETRY_AFTER_REDIS, redis_unavailable

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://virtualcoworking.dev/problems/"

log = logging.getLogger("vc.errors")


class DomainError(Exception):
    """Base of the errors a service raises; ``status`` and ``slug`` pick the problem type."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})
        self.extensions = extensions


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Forbidden"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="virtualcoworking"'})
        super().__init__(detail, **kw)


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class Invalid(DomainError):
    """A well-formed request that breaks a rule: 422 with ``errors`` pointing at the field."""

    status, slug, title = 422, "validation-error", "Validation error"

    def __init__(
        self, detail: str | None = None, *, loc: Sequence[str | int] | None = None, **kw: Any
    ) -> None:
        if loc is not None and "errors" not in kw:
            kw["errors"] = [{"loc": list(loc), "msg": detail or self.title, "type": "value_error"}]
        super().__init__(detail, **kw)


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class TooManyRequests(DomainError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(
            detail or "Rate limit exceeded; retry later.",
            headers={"Retry-After": str(max(1, retry_after))},
        )


class ServiceUnavailable(DomainError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> Response:
    """Build one RFC 9457 response."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = list(errors)
    body.update(extensions)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
    )


def _validation_errors(exc: RequestValidationError) -> tuple[list[dict[str, Any]], bool]:
    out: list[dict[str, Any]] = []
    malformed = False
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            malformed = True
        out.append(
            {
                "loc": list(err.get("loc", ())),
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out, malformed


async def _domain_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem(
        exc.status,
        exc.detail,
        title=exc.title,
        slug=exc.slug,
        errors=exc.errors,
        headers=exc.headers,
        instance=request.url.path,
        **exc.extensions,
    )


async def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors, malformed = _validation_errors(exc)
    if malformed:
        return problem(
            400,
            "The request body is not valid JSON.",
            slug="malformed-json",
            title="Malformed JSON",
            instance=request.url.path,
        )
    return problem(
        422,
        "The request is not valid; see `errors`.",
        slug="validation-error",
        title="Validation error",
        errors=errors,
        instance=request.url.path,
    )


def allowed_methods(request: Request) -> str:
    """Every method the app's OpenAPI document gives the request's path (Starlette's own 405
    names only the first matching route's, so a GET route and a PATCH route of one path each
    hid the other)."""
    path = request.url.path
    methods: set[str] = set()
    for template, item in (request.app.openapi().get("paths") or {}).items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods |= {m.upper() for m in item if m in _HTTP_METHODS}
    return ", ".join(sorted(methods))


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


async def _http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return problem(exc.status_code, str(exc.detail), headers=headers, instance=request.url.path)


async def _integrity(request: Request, exc: Exception) -> Response:
    # a race lost on a unique or foreign key: the state changed under the request
    log.info("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return problem(
        409,
        "The change conflicts with the current state; reload and try again.",
        slug="conflict",
        title="Conflict",
        instance=request.url.path,
    )


#: SQLSTATEs of a database that cannot serve now: class 08 (connection exceptions),
#: 53300 (too many connections: every slot of the server taken, a burst on many services), and
#: 57P01-57P03 (an admin or crash shutdown, "the database system is starting up")
_UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03")
#: the seconds a client is asked to wait while the database comes back (a restart: seconds)
RETRY_AFTER_DATABASE = 2


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or went away mid-request (down,
    restarting, the connection cut), rather than anything about the request: the caller should
    retry soon, so 503 with ``Retry-After``, not a 500. Follows the exception's causes (the
    driver's error inside SQLAlchemy's)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, ConnectionError):  # refused or reset while connecting or talking
            return True
        state = getattr(e, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        todo += [e.__cause__, e.__context__, getattr(e, "orig", None)]
    return False


def _unavailable(request: Request, exc: Exception, what: str, retry_after: int) -> Response:
    log.warning(
        "%s unavailable on %s %s: %s", what, request.method, request.url.path, repr(exc)[:500]
    )
    return problem(
        503,
        f"The service's {what} is unavailable for a moment; retry shortly.",
        slug="service-unavailable",
        title="Service unavailable",
        headers={"Retry-After": str(retry_after)},
        instance=request.url.path,
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    if database_unavailable(exc):
        return _unavailable(request, exc, "database", RETRY_AFTER_DATABASE)
    if redis_unavailable(exc):
        return _unavailable(request, exc, "Redis", RETRY_AFTER_REDIS)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "An unexpected error occurred; it has been logged.",
        slug="internal-error",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(Exception, _unhandled)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": HTTPStatus(code).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for code in (400, 401, 403, 404, 409, 422, 429)
}
