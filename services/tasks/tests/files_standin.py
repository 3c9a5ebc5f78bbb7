"""The files service as tasks' tests need it: ``GET /api/v1/files/{id}`` on a real HTTP server
(:class:`~vc_common.testing.servers.ThreadServer`), answering what files answers the caller:
the file to a member of its team, a problem+json 404 to anyone else, 401 without a token."""

from __future__ import annotations

import re
import uuid
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from vc_common.testing.servers import ThreadServer

_PATH = re.compile(r"^/api/v1/files/([0-9a-fA-F-]{36})$")


class FakeFiles:
    def __init__(self) -> None:
        self.files: dict[uuid.UUID, tuple[dict[str, Any], set[uuid.UUID]]] = {}
        self.calls = 0
        self._server = ThreadServer(
            Starlette(routes=[Route("/{path:path}", self._answer)]), "fake-files"
        )
        self.url = self._server.url

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def store(self, team_id: uuid.UUID, members: set[uuid.UUID], name: str) -> dict[str, Any]:
        """A file uploaded into ``team_id`` (seen by ``members``), whose event has not come yet."""
        file_id = uuid.uuid4()
        uploader = next(iter(members))
        body = {
            "id": str(file_id),
            "team_id": str(team_id),
            "name": name,
            "size": 21,
            "content_type": "text/plain",
            "uploaded_by_id": str(uploader),
        }
        self.files[file_id] = (body, members)
        return body

    async def _answer(self, request: Request) -> JSONResponse:
        self.calls += 1
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return _problem(401, "An access token is required.")
        caller = uuid.UUID(jwt.decode(auth[7:], options={"verify_signature": False})["sub"])
        m = _PATH.match(request.url.path)
        found = self.files.get(uuid.UUID(m[1])) if m and request.method == "GET" else None
        if found is None or caller not in found[1]:
            return _problem(404, "File not found.")
        return JSONResponse(found[0])


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": "Error", "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )
