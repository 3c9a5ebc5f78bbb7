"""RFC 9457 ``application/problem+json`` answers for aiohttp.

``vc_common.errors.problem`` builds a Starlette response; the gateway is an aiohttp server, so this
is the same document shape (``type``, ``title``, ``status``, ``detail``) as an aiohttp response.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web
from vc_common.errors import PROBLEM_BASE, PROBLEM_JSON, DomainError

_PHRASES = {int(s): s.phrase for s in HTTPStatus}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> web.Response:
    phrase = _PHRASES.get(status, "Error")
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    resp = web.Response(body=orjson.dumps(body), status=status, headers=headers)
    resp.headers["Content-Type"] = PROBLEM_JSON
    return resp


def from_domain_error(exc: DomainError, instance: str | None = None) -> web.Response:
    extra: dict[str, Any] = dict(exc.extensions)
    if exc.errors is not None:
        extra["errors"] = exc.errors
    return problem(
        exc.status,
        exc.detail,
        title=exc.title,
        slug=exc.slug,
        headers=exc.headers,
        instance=instance,
        **extra,
    )
