"""Avatars: decoded and checked, re-encoded as a square thumbnail, served publicly; the profile
learns its URL from files.avatar.updated."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import httpx
from PIL import Image
from vc_common.jobs import run_job
from vc_common.testing.plugin import ReadOutbox, TestUser


def image(fmt: str, size: tuple[int, int] = (600, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format=fmt)
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge canvas (an image bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


async def put(client: httpx.AsyncClient, user: TestUser, data: bytes, ctype: str) -> httpx.Response:
    return await client.put(
        "/api/v1/users/me/avatar", content=data, headers={**user.headers, "Content-Type": ctype}
    )


async def test_an_avatar_becomes_a_public_square_thumbnail(
    client: httpx.AsyncClient, user: TestUser, outbox: ReadOutbox
) -> None:
    for fmt, ctype in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        r = await put(client, user, image(fmt), ctype)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["avatar"] == f"/api/v1/avatars/{body['file_id']}"
        assert (body["width"], body["height"], body["content_type"]) == (256, 256, "image/webp")
        got = await client.get(body["avatar"])  # no token: an <img src>
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/webp"
        assert "immutable" in got.headers["cache-control"]
        thumb = Image.open(io.BytesIO(got.content))
        assert (thumb.format, thumb.size) == ("WEBP", (256, 256))
    events = await outbox("files.avatar.updated")
    assert len(events) == 3
    assert events[-1]["data"] == {
        "user_id": str(user.id),
        "file_id": body["file_id"],
        "avatar_url": body["avatar"],
    }
    assert events[-1]["subject"] == str(user.id)


async def test_a_new_avatar_retires_the_old_one(
    app: Any, client: httpx.AsyncClient, user: TestUser
) -> None:
    old = (await put(client, user, image("PNG"), "image/png")).json()
    multipart = await client.put(
        "/api/v1/users/me/avatar",
        files={"file": ("me.jpg", image("JPEG"), "image/jpeg")},
        headers=user.headers,
    )
    assert multipart.status_code == 200, multipart.text
    assert (await client.get(old["avatar"])).status_code == 404
    assert (await client.get(multipart.json()["avatar"])).status_code == 200
    assert await run_job(app, "sweeper") == 1
    assert not await app.state.storage.exists(f"avatars/{old['file_id']}")


async def test_what_is_not_an_avatar_is_refused(
    client: httpx.AsyncClient, user: TestUser, settings: Any
) -> None:
    for data, ctype in (
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (image("GIF"), "image/gif"),
        (b"not an image at all", "image/png"),
        (image("PNG")[:60], "image/png"),  # truncated
        (b"", "image/png"),
    ):
        r = await put(client, user, data, ctype)
        assert r.status_code == 422, (ctype, r.text)
        assert r.json()["errors"][0]["loc"][0] == "body"
    bomb = await put(client, user, png_bomb(100_000, 100_000), "image/png")
    assert bomb.status_code == 422
    assert "pixels" in bomb.json()["detail"]

    settings.avatar_max_bytes = 1000
    big = image("PNG", (800, 800))
    assert len(big) > 1000
    r = await put(client, user, big, "image/png")
    assert r.status_code == 413

    async def chunked() -> Any:
        yield big

    r = await client.put(
        "/api/v1/users/me/avatar",
        content=chunked(),
        headers={**user.headers, "Content-Type": "image/png"},
    )
    assert r.status_code == 413
    assert (await client.put("/api/v1/users/me/avatar", content=b"x")).status_code == 401
