"""Team files through the API: upload (raw and multipart, streamed), read, download (whole, by
Range, by signed URL), rename, delete; the limits and the quota; on both storage backends."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from PIL import Image
from teams_client.testing import Team
from vc_common.testing.plugin import MovableClock, ReadOutbox

MiB = 1024 * 1024


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def upload_raw(
    client: httpx.AsyncClient,
    team: Team,
    data: bytes | AsyncIterator[bytes],
    *,
    name: str = "notes.txt",
    content_type: str = "text/plain",
    user: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    who = user or team.member
    return await client.post(
        f"/api/v1/teams/{team.id}/files",
        params={"filename": name},
        content=data,
        headers={**who.headers, "Content-Type": content_type, **(headers or {})},
    )


async def test_raw_upload_is_stored_whole_and_comes_back_byte_identical(
    client: httpx.AsyncClient, team: Team, outbox: ReadOutbox, look: Any
) -> None:
    data = os.urandom(3 * MiB + 123)
    r = await upload_raw(client, team, data, name="report.bin", content_type="application/x-foo")
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/api/v1/files/{body['id']}"
    assert body["name"] == "report.bin"
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["team_id"] == str(team.id)
    assert body["uploaded_by_id"] == str(team.member.id)
    assert body["content_type"] == "application/x-foo"
    assert body["file_url"].startswith(f"/api/v1/files/{body['id']}/download?expires=")
    [event] = await outbox("files.file.uploaded")
    assert event["data"]["file_id"] == body["id"]
    assert event["data"]["size"] == len(data)
    assert event["data"]["name"] == "report.bin"
    assert event["data"]["user_id"] == str(team.member.id)
    assert await look.used(team.id) == len(data)

    got = await client.get(f"/api/v1/files/{body['id']}/content", headers=team.other.headers)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["etag"] == f'"{body["sha256"]}"'
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["content-type"] == "application/x-foo"
    assert got.headers["content-disposition"].startswith('attachment; filename="report.bin"')
    assert got.headers["x-content-type-options"] == "nosniff"


async def test_multipart_upload_takes_the_file_field_and_sniffs_an_image(
    client: httpx.AsyncClient, team: Team
) -> None:
    image = png()
    r = await client.post(
        f"/api/v1/teams/{team.id}/files",
        files={"file": ("../../etc/photo é.png", image, "application/octet-stream")},
        data={"comment": "ignored"},
        headers=team.member.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "photo é.png"  # the last path segment only
    assert body["size"] == len(image)
    assert body["content_type"] == "image/png"  # what the bytes say
    got = await client.get(f"/api/v1/files/{body['id']}/content", headers=team.member.headers)
    assert got.content == image
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("inline;")
    assert "filename*=UTF-8''photo%20%C3%A9.png" in got.headers["content-disposition"]


async def test_a_large_file_goes_up_in_parts_and_down_in_blocks(
    client: httpx.AsyncClient, team: Team, settings: Any
) -> None:
    data = os.urandom(12 * MiB + 7)  # three S3 parts of 5 MiB (the last one shorter)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 256 * 1024):
            yield data[i : i + 256 * 1024]

    r = await upload_raw(client, team, chunks(), name="big.bin")
    assert r.status_code == 201, r.text
    assert r.json()["size"] == len(data)
    assert settings.files_s3_part_size == 5 * MiB
    got = await client.get(f"/api/v1/files/{r.json()['id']}/content", headers=team.member.headers)
    assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_html_is_never_served_as_html(client: httpx.AsyncClient, team: Team) -> None:
    page = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
    for claimed in ("text/html", "text/plain", "image/png"):
        r = await upload_raw(client, team, page, name="x.html", content_type=claimed)
        assert r.status_code == 201, r.text
        assert r.json()["content_type"] == "application/octet-stream"
        got = await client.get(
            f"/api/v1/files/{r.json()['id']}/content", headers=team.member.headers
        )
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert "sandbox" in got.headers["content-security-policy"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    r = await upload_raw(client, team, svg, name="x.svg", content_type="image/svg+xml")
    assert r.json()["content_type"] == "application/octet-stream"


async def test_range_requests_answer_206_and_resume(client: httpx.AsyncClient, team: Team) -> None:
    data = bytes(range(256)) * 40  # 10,240 bytes
    r = await upload_raw(client, team, data, name="r.bin")
    fid, etag = r.json()["id"], f'"{r.json()["sha256"]}"'
    url = f"/api/v1/files/{fid}/content"
    h = team.member.headers

    part = await client.get(url, headers={**h, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert part.headers["content-length"] == "100"

    tail = await client.get(url, headers={**h, "Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, data[-10:])
    # a resume: from where the first client stopped, only if the file is still the same
    rest = await client.get(url, headers={**h, "Range": "bytes=5000-", "If-Range": etag})
    assert (rest.status_code, rest.content) == (206, data[5000:])
    changed = await client.get(url, headers={**h, "Range": "bytes=5000-", "If-Range": '"other"'})
    assert (changed.status_code, changed.content) == (200, data)
    several = await client.get(url, headers={**h, "Range": "bytes=0-1,5-6"})
    assert (several.status_code, several.content) == (200, data)

    past = await client.get(url, headers={**h, "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(data)}"
    same = await client.get(url, headers={**h, "If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""


async def test_signed_url_works_without_a_token_until_it_expires(
    client: httpx.AsyncClient, team: Team, clock: MovableClock
) -> None:
    data = b"shared with a link"
    r = await upload_raw(client, team, data)
    url = r.json()["file_url"]
    got = await client.get(url)  # no Authorization header
    assert got.status_code == 200
    assert got.content == data
    ranged = await client.get(url, headers={"Range": "bytes=0-5"})
    assert (ranged.status_code, ranged.content) == (206, data[:6])

    other = (await upload_raw(client, team, b"another")).json()["id"]
    tampered = [
        url.replace(r.json()["id"], other),
        url[:-2] + ("AA" if not url.endswith("AA") else "BB"),
        url.replace("expires=", "expires=9"),
        url.split("signature=")[0] + "signature=%F3%8F%9D%9E",  # non-ASCII: once a 500
    ]
    for bad in tampered:
        refused = await client.get(bad)
        assert refused.status_code == 403, bad
        assert refused.headers["content-type"] == "application/problem+json"

    clock.advance(hours=1, seconds=1)
    assert (await client.get(url)).status_code == 403
    fresh = await client.get(f"/api/v1/files/{r.json()['id']}", headers=team.member.headers)
    assert (await client.get(fresh.json()["file_url"])).status_code == 200


async def test_content_length_over_the_limit_is_refused_before_the_body_is_read(
    client: httpx.AsyncClient, team: Team, settings: Any, look: Any
) -> None:
    settings.files_max_bytes = 1000
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(b"x")
        yield b"x" * 2000

    r = await upload_raw(client, team, body(), headers={"Content-Length": "2000"})
    assert r.status_code == 413
    assert r.headers["connection"] == "close"
    assert "at most 1000 bytes" in r.json()["detail"]
    assert read == []  # not a byte was asked for
    assert await look.rows(team.id) == []


async def test_a_body_growing_past_the_limit_is_cut_off_and_leaves_nothing(
    client: httpx.AsyncClient, team: Team, settings: Any, look: Any
) -> None:
    settings.files_max_bytes = 3 * MiB
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 16 MiB if nobody stops it
            sent += 256 * 1024
            yield b"y" * (256 * 1024)

    r = await upload_raw(client, team, endless())  # chunked: no Content-Length
    assert r.status_code == 413
    assert sent <= 4 * MiB  # cut off soon after the limit
    assert await look.rows(team.id) == []
    assert await look.team_objects(team.id) == []
    assert await look.used(team.id) == 0
    # a multipart body too
    settings.files_max_bytes = 1000
    r = await client.post(
        f"/api/v1/teams/{team.id}/files",
        files={"file": ("a.bin", b"z" * 5000)},
        headers=team.member.headers,
    )
    assert r.status_code == 413
    assert await look.rows(team.id) == []
    assert await look.team_objects(team.id) == []


async def test_team_quota_is_checked_before_and_while_streaming(
    client: httpx.AsyncClient, team: Team, settings: Any, look: Any
) -> None:
    settings.files_team_quota_bytes = 5000
    first = await upload_raw(client, team, b"a" * 3000)
    assert first.status_code == 201
    assert await look.used(team.id) == 3000

    declared = await upload_raw(client, team, b"b" * 3000)
    assert declared.status_code == 413
    assert "quota" in declared.json()["detail"]

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"c" * 1000

    streamed = await upload_raw(client, team, chunked())
    assert streamed.status_code == 413
    assert "quota" in streamed.json()["detail"]
    assert await look.used(team.id) == 3000
    assert await look.rows(team.id) == [("stored", 3000)]

    fits = await upload_raw(client, team, b"d" * 2000)
    assert fits.status_code == 201
    assert await look.used(team.id) == 5000
    full = await upload_raw(client, team, b"e")
    assert full.status_code == 413
    assert (
        await client.delete(f"/api/v1/files/{first.json()['id']}", headers=team.member.headers)
    ).status_code == 204
    assert await look.used(team.id) == 2000
    assert (await upload_raw(client, team, b"f" * 3000)).status_code == 201


async def test_bad_uploads_are_clear_problems(client: httpx.AsyncClient, team: Team) -> None:
    no_name = await client.post(
        f"/api/v1/teams/{team.id}/files", content=b"abc", headers=team.member.headers
    )
    assert no_name.status_code == 422
    assert no_name.json()["errors"][0]["loc"] == ["query", "filename"]
    no_field = await client.post(
        f"/api/v1/teams/{team.id}/files",
        files={"document": ("a.txt", b"abc")},
        headers=team.member.headers,
    )
    assert no_field.status_code == 422
    assert no_field.json()["errors"][0]["loc"] == ["body", "file"]
    truncated = await client.post(
        f"/api/v1/teams/{team.id}/files",
        content=b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
        headers={**team.member.headers, "Content-Type": "multipart/form-data; boundary=XX"},
    )
    assert truncated.status_code == 422


async def test_who_sees_renames_and_deletes(
    client: httpx.AsyncClient, team: Team, outbox: ReadOutbox
) -> None:
    r = await upload_raw(client, team, b"hello", name="a.txt")
    fid = r.json()["id"]
    assert (
        await client.get(f"/api/v1/files/{fid}", headers=team.outsider.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/files/{fid}/content", headers=team.outsider.headers)
    ).status_code == 404
    assert (await upload_raw(client, team, b"x", user=team.outsider)).status_code == 404
    assert (
        await client.get(f"/api/v1/teams/{team.id}/files", headers=team.outsider.headers)
    ).status_code == 404
    assert (await client.get(f"/api/v1/files/{fid}")).status_code == 401

    rename = await client.patch(
        f"/api/v1/files/{fid}", json={"name": "b.txt"}, headers=team.other.headers
    )
    assert rename.status_code == 403
    rename = await client.patch(
        f"/api/v1/files/{fid}", json={"name": "b.txt"}, headers=team.member.headers
    )
    assert (rename.status_code, rename.json()["name"]) == (200, "b.txt")
    assert (
        await client.patch(
            f"/api/v1/files/{fid}", json={"name": "c.txt"}, headers=team.admin.headers
        )
    ).status_code == 200

    assert (
        await client.delete(f"/api/v1/files/{fid}", headers=team.other.headers)
    ).status_code == 403
    assert (
        await client.delete(f"/api/v1/files/{fid}", headers=team.admin.headers)
    ).status_code == 204
    [event] = await outbox("files.file.deleted")
    assert event["data"] == {
        "file_id": fid,
        "team_id": str(team.id),
        "user_id": str(team.admin.id),
        "size": 5,
        "name": "c.txt",
        "reason": "deleted",
        "uploaded_by_id": str(team.member.id),
    }
    assert (
        await client.get(f"/api/v1/files/{fid}", headers=team.member.headers)
    ).status_code == 404
    assert (await client.get(r.json()["file_url"])).status_code == 404


async def test_the_team_list_is_paginated_newest_first(
    client: httpx.AsyncClient, team: Team
) -> None:
    ids = [(await upload_raw(client, team, b"x", name=f"{i}.txt")).json()["id"] for i in range(5)]
    page = await client.get(
        f"/api/v1/teams/{team.id}/files", params={"limit": 3}, headers=team.member.headers
    )
    body = page.json()
    assert [f["id"] for f in body["items"]] == ids[::-1][:3]
    assert all(f["file_url"] for f in body["items"])
    rest = await client.get(
        f"/api/v1/teams/{team.id}/files",
        params={"limit": 3, "cursor": body["next_cursor"]},
        headers=team.member.headers,
    )
    assert [f["id"] for f in rest.json()["items"]] == ids[::-1][3:]
    assert rest.json()["next_cursor"] is None


async def test_an_idempotent_upload_retried_stores_one_file(
    client: httpx.AsyncClient, team: Team, look: Any
) -> None:
    key = str(uuid.uuid4())
    data = os.urandom(2 * MiB)
    first = await upload_raw(client, team, data, headers={"Idempotency-Key": key})
    again = await upload_raw(client, team, data, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await look.rows(team.id)) == 1
    other = await upload_raw(client, team, os.urandom(2 * MiB), headers={"Idempotency-Key": key})
    assert other.status_code == 422
