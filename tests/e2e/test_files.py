"""End to end through the gateway (the platform of conftest.py, as `make run` starts it): a file
goes up streamed, comes back byte-identical whole, by Range and by its signed URL (no token),
attaches to a task once tasks has learnt it from files.file.uploaded, and the size limit holds."""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import new_user

pytestmark = pytest.mark.e2e


async def _signed_in(api: httpx.AsyncClient) -> dict[str, str]:
    headers: dict[str, str] = (await new_user(api, "filer"))["headers"]
    return headers


async def test_a_file_up_and_back_by_range_and_signed_url_then_attached(
    api: httpx.AsyncClient,
) -> None:
    me = await _signed_in(api)
    team = (await api.post("/api/v1/teams", json={"name": "Files"}, headers=me)).json()
    data = os.urandom(3 * 1024 * 1024 + 17)  # larger than the gateway's buffer: streamed

    async def chunks() -> Any:
        for i in range(0, len(data), 256 * 1024):
            yield data[i : i + 256 * 1024]

    r = await api.post(
        f"/api/v1/teams/{team['id']}/files",
        params={"filename": "launch.bin"},
        content=chunks(),
        headers={**me, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["sha256"] == hashlib.sha256(data).hexdigest()
    assert f["size"] == len(data)

    whole = await api.get(f"/api/v1/files/{f['id']}/content", headers=me)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["etag"] == f'"{f["sha256"]}"'
    part = await api.get(
        f"/api/v1/files/{f['id']}/content", headers={**me, "Range": "bytes=1000000-1999999"}
    )
    assert part.status_code == 206
    assert part.content == data[1_000_000:2_000_000]
    assert (await api.get(f"/api/v1/files/{f['id']}/content")).status_code == 401
    signed = await api.get(f["file_url"])  # no Authorization header: an <img src>, a link
    assert signed.status_code == 200
    assert signed.content == data
    assert (await api.get(f["file_url"].replace("signature=", "signature=x"))).status_code == 403

    # attached to a task once tasks has learnt the file from files.file.uploaded
    board = (
        await api.post(f"/api/v1/teams/{team['id']}/boards", json={"name": "B"}, headers=me)
    ).json()
    board = (await api.get(f"/api/v1/boards/{board['id']}", headers=me)).json()
    task = (
        await api.post(
            f"/api/v1/columns/{board['columns'][0]['id']}/tasks", json={"title": "T"}, headers=me
        )
    ).json()
    for _ in range(100):
        a = await api.post(
            f"/api/v1/tasks/{task['id']}/attachments", json={"file_id": f["id"]}, headers=me
        )
        if a.status_code != 422:
            break
        await asyncio.sleep(0.1)
    assert a.status_code == 201, a.text
    assert a.json()["filename"] == "launch.bin"

    # over FILES_MAX_BYTES (100 MiB): refused from its Content-Length, before the body (sent
    # by hand: an HTTP client will not declare 200 MiB and send less)
    url = httpx.URL(str(api.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        (
            f"POST /api/v1/teams/{team['id']}/files?filename=huge.bin HTTP/1.1\r\n"
            f"Host: {url.host}\r\nAuthorization: {me['Authorization']}\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {200 << 20}\r\n\r\n"
        ).encode()
        + b"x" * 1024
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 15)
    writer.close()
    assert status_line.split()[1] == b"413", status_line
