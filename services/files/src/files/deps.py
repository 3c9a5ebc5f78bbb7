"""Dependencies of files' endpoints: the storage, and what a streamed body needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response, StreamingResponse
from vc_common.errors import Invalid

from files.files.service import Content
from files.storage import Storage


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(_storage)]


def content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(
            "Content-Length must be a number.", loc=["header", "content-length"]
        ) from None
    if value < 0:
        raise Invalid("Content-Length must not be negative.", loc=["header", "content-length"])
    return value


def body_of(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives (never read whole)."""
    return request.stream()


def respond(content: Content) -> Response:
    if content.body is None:
        return Response(status_code=content.status, headers=content.headers)
    return StreamingResponse(content.body, status_code=content.status, headers=content.headers)


def binary_body(description: str) -> dict[str, Any]:
    """The OpenAPI request body of an upload (the endpoint reads the stream itself)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }


BYTES_RESPONSES: dict[int | str, dict[str, Any]] = {
    # the file's own Content-Type, whatever was uploaded
    200: {
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        "description": "the bytes",
    },
    206: {
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        "description": "one range of the bytes (`Range`)",
    },
    304: {"description": "not modified (`If-None-Match`)"},
    416: {"description": "the range lies outside the file"},
}
