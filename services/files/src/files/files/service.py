"""Team files: upload (streamed, hashed, limited), read, rename, delete, download.

An upload runs in three steps so that no database connection is held while bytes flow and no
byte is ever stored without a row (``files.models``):

1. in a unit of its own (committed): the caller may upload to the team, the declared size fits
   the limit and the team's quota, a ``pending`` row reserves it;
2. the body streams into storage, hashed and counted, cut off past the reservation;
3. in the request's unit of work: the row becomes ``stored`` (its real size, hash and type),
   the quota takes the real size, ``files.file.uploaded`` goes to the outbox.

A failure in step 2 (too large, malformed, the client gone) aborts the stored bytes and drops the
row and its reservation; a crash leaves a ``pending`` row the sweeper reclaims.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from vc_common.context import Context
from vc_common.errors import Conflict, Forbidden, Invalid, NotFound
from vc_common.ids import uuid7
from vc_common.pagination import PageParams

from files import events, signing, sniff
from files.errors import PayloadTooLarge, UploadTimeout
from files.files import repository as repo
from files.files.schemas import FileRead, FileUpdate
from files.models import DELETED, FILE, PENDING, STORED, File
from files.multipart import MULTIPART_OVERHEAD, MultipartFile, boundary_of
from files.ranges import Unsatisfiable, parse_range
from files.settings import Settings
from files.storage import ObjectMissing, Storage
from files.storage.ingest import Ingest, TooLarge
from files.units import own_unit

log = logging.getLogger("files.service")


def settings_of(ctx: Context) -> Settings:
    s: Settings = ctx.settings
    return s


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def view(ctx: Context, f: File) -> FileRead:
    s = settings_of(ctx)
    now = ctx.now()
    assert f.team_id is not None
    assert f.sha256 is not None
    return FileRead(
        id=f.id,
        name=f.name,
        size=f.size,
        content_type=f.content_type,
        file_url=s.files_public_url
        + signing.signed_path(s.files_url_secret, f.id, now, s.files_url_ttl),
        file_url_expires_at=datetime.fromtimestamp(
            int(now.timestamp()) + s.files_url_ttl, now.tzinfo
        ),
        uploaded_by_id=f.uploaded_by_id,
        team_id=f.team_id,
        created_at=f.created_at,
        updated_at=f.updated_at,
        sha256=f.sha256,
    )


def storage_key(team_id: uuid.UUID | None, file_id: uuid.UUID) -> str:
    return f"teams/{team_id}/{file_id}" if team_id is not None else f"avatars/{file_id}"


# --- upload ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    file_id: uuid.UUID
    team_id: uuid.UUID
    key: str
    limit: int
    # whether hitting ``limit`` means the team's quota (not the size limit) ran out
    by_quota: bool


def _quota_error(s: Settings, used: int, needed: int | None) -> PayloadTooLarge:
    left = max(0, s.files_team_quota_bytes - used)
    need = f"; this upload needs {_mib(needed)}" if needed is not None else ""
    return PayloadTooLarge(
        f"The team's storage quota ({_mib(s.files_team_quota_bytes)}) is exceeded: "
        f"{_mib(left)} left{need}.",
        reason="quota",
    )


def _size_error(s: Settings) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"A file may be at most {s.files_max_bytes} bytes ({_mib(s.files_max_bytes)}).",
        reason="size",
    )


async def reserve(
    ctx: Context,
    team_id: uuid.UUID,
    *,
    name: str,
    declared: int | None,
    kind: str = FILE,
    max_bytes: int | None = None,
) -> Reservation:
    """Step 1, in a unit of its own: the right to upload, the limit and the quota checked, a
    ``pending`` row reserving the bytes committed."""
    s = settings_of(ctx)
    limit = max_bytes if max_bytes is not None else s.files_max_bytes
    async with own_unit(ctx) as unit:
        await unit.authorize(team_id, "file.upload")
        file_id = uuid7()
        f = File(
            id=file_id,
            team_id=team_id,
            kind=kind,
            name=name or "upload",
            size=0,
            content_type=sniff.OCTET,
            uploaded_by_id=unit.user.id,
            state=PENDING,
            storage_key=storage_key(team_id, file_id),
        )
        unit.session.add(f)
        await unit.session.flush()
        usage = await repo.lock_usage(unit.session, team_id)
        left = s.files_team_quota_bytes - usage.used_bytes
        wanted = min(declared, limit) if declared is not None else limit
        if declared is not None and wanted > left:
            raise _quota_error(s, usage.used_bytes, wanted)
        if left <= 0:
            raise _quota_error(s, usage.used_bytes, None)
        reserved = min(wanted, left)
        f.size = reserved
        await repo.add_usage(unit.session, team_id, reserved)
        await unit.session.flush()
        return Reservation(f.id, team_id, f.storage_key, reserved, by_quota=reserved < limit)


async def release(ctx: Context, file_id: uuid.UUID) -> None:
    """A failed upload: its pending row and its reservation go (the bytes went before)."""
    async with own_unit(ctx) as unit:
        dropped = await repo.drop_pending(unit.session, file_id)
        if dropped is not None and dropped.team_id is not None:
            await repo.lock_usage(unit.session, dropped.team_id)
            await repo.add_usage(unit.session, dropped.team_id, -dropped.size)


@dataclass
class Received:
    name: str
    claimed_type: str | None
    size: int
    sha256: str
    head: bytes


async def receive(
    ctx: Context,
    storage: Storage,
    r: Reservation,
    body: AsyncIterator[bytes],
    *,
    boundary: bytes | None,
    name: str,
    claimed_type: str | None,
) -> Received:
    """Step 2: the body into storage. On any failure nothing of it is left (bytes, row)."""
    s = settings_of(ctx)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + s.files_upload_timeout

    def in_time() -> None:
        if loop.time() > deadline:
            raise UploadTimeout(f"The upload took longer than {s.files_upload_timeout:.0f} s.")

    writer = await storage.writer(r.key)
    ingest = Ingest(writer, r.limit, check=in_time)
    try:
        if boundary is not None:
            part = MultipartFile(body, boundary)
            await part.open()
            name = sniff.clean_name(part.filename)
            if not name:
                raise Invalid("The `file` part needs a filename.", loc=["body", "file"])
            claimed_type = part.content_type
            async for piece in part.data():
                await ingest.feed(piece)
        else:
            async for chunk in body:
                await ingest.feed(chunk)
        done = await ingest.finish()
    except BaseException as exc:
        await ingest.cancel()
        await writer.abort()
        await asyncio.shield(release(ctx, r.file_id))
        if isinstance(exc, TooLarge):
            if r.by_quota:
                used = await _usage(ctx, r)
                raise _quota_error(s, used, None) from None
            raise _size_error(s) from None
        raise
    return Received(name, claimed_type, done.size, done.sha256, done.head)


async def _usage(ctx: Context, r: Reservation) -> int:
    async with own_unit(ctx) as unit:
        return await repo.usage(unit.session, r.team_id)


async def upload(
    ctx: Context,
    storage: Storage,
    team_id: uuid.UUID,
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    filename: str | None,
) -> File:
    """A team file from a ``multipart/form-data`` body (field ``file``) or a raw body (its
    ``Content-Type``, ``?filename=``)."""
    s = settings_of(ctx)
    boundary = boundary_of(content_type or "")
    name = ""
    if boundary is None:
        name = sniff.clean_name(filename)
        if not name:
            raise Invalid(
                "A raw upload needs `?filename=` (or send multipart/form-data).",
                loc=["query", "filename"],
            )
    declared: int | None = None
    if content_length is not None:
        allowed = s.files_max_bytes + (MULTIPART_OVERHEAD if boundary is not None else 0)
        if content_length > allowed:
            raise _size_error(s)  # before a byte of the body is read
        declared = content_length if boundary is None else min(content_length, s.files_max_bytes)
    r = await reserve(ctx, team_id, name=name, declared=declared)
    got = await receive(
        ctx, storage, r, body, boundary=boundary, name=name, claimed_type=content_type
    )
    # step 3, in the request's unit of work
    f = await repo.get_pending(ctx.session, r.file_id)
    if f is None:  # reclaimed meanwhile (the team deleted, or the upload outlived its timeout)
        await storage.delete(r.key)
        raise Conflict("The upload was cancelled while it ran (its team was deleted?).")
    await repo.lock_usage(ctx.session, team_id)
    await repo.add_usage(ctx.session, team_id, got.size - f.size)
    f.name = got.name
    f.size = got.size
    f.sha256 = got.sha256
    f.content_type = sniff.decide(got.claimed_type, got.head)
    f.state = STORED
    f.updated_at = ctx.now()
    await ctx.session.flush()
    await events.file_uploaded(ctx, f)
    return f


# --- reading and changing ---------------------------------------------------------------------


async def visible(ctx: Context, file_id: uuid.UUID, *, lock: bool = False) -> File:
    f = await repo.get(ctx.session, file_id, lock=lock)
    if f is None or f.team_id is None:
        raise NotFound("File not found.")
    await ctx.authorize(f.team_id, "file.read", not_found="File not found.")
    return f


async def get_file(ctx: Context, file_id: uuid.UUID) -> File:
    return await visible(ctx, file_id)


async def list_files(
    ctx: Context, team_id: uuid.UUID, page: PageParams
) -> tuple[list[File], str | None]:
    await ctx.authorize(team_id, "file.read")
    return await repo.team_page(ctx.session, team_id, page)


async def rename(ctx: Context, file_id: uuid.UUID, data: FileUpdate) -> File:
    f = await visible(ctx, file_id, lock=True)
    assert f.team_id is not None
    await ctx.authorize(f.team_id, "file.rename", author_id=f.uploaded_by_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        name = sniff.clean_name(changes["name"])
        if not name:
            raise Invalid("`name` cannot be empty.", loc=["body", "name"])
        f.name = name
        f.updated_at = ctx.now()
    await ctx.session.flush()
    return f


async def delete_file(ctx: Context, file_id: uuid.UUID) -> None:
    """Gone for users at once (the row marked ``deleted``, the quota freed, the event); the
    sweeper removes the bytes, then the row."""
    f = await visible(ctx, file_id, lock=True)
    assert f.team_id is not None
    await ctx.authorize(f.team_id, "file.delete", author_id=f.uploaded_by_id)
    now = ctx.now()
    f.state = DELETED
    f.deleted_at = now
    f.updated_at = now
    await repo.lock_usage(ctx.session, f.team_id)
    await repo.add_usage(ctx.session, f.team_id, -f.size)
    await ctx.session.flush()
    await events.file_deleted(ctx, f, ctx.user.id, "deleted")


async def team_deleted(ctx: Context, team_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """``teams.team.deleted``: every file of the team marked for the sweeper, one
    ``files.file.deleted`` each; the team's usage forgotten."""
    rows = await repo.mark_team_deleted(ctx.session, team_id, ctx.now())
    for f in rows:
        if f.sha256 is not None:  # it was stored (pending ones were never announced)
            await events.file_deleted(ctx, f, user_id, "team_deleted")
    await repo.forget_usage(ctx.session, team_id)
    return len(rows)


# --- downloads --------------------------------------------------------------------------------


@dataclass
class Content:
    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes] | None


def _etag(f: File) -> str:
    return f'"{f.sha256}"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == etag for t in header.split(","))


async def _first_then_rest(it: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Read the first block now (a missing object is a clean error, not a broken stream)."""
    try:
        first = await anext(it)
    except StopAsyncIteration:
        first = b""

    async def chain() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for block in it:
                yield block
        finally:
            await it.aclose()  # type: ignore[attr-defined]

    return chain()


async def content(
    storage: Storage,
    f: File,
    *,
    range_header: str | None,
    if_none_match: str | None,
    if_range: str | None,
    cache: str = "private, no-cache",
) -> Content:
    """The bytes of a file (all of them, or one range), with the headers a browser and a
    resuming download client need."""
    etag = _etag(f)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": cache,
        "Content-Type": f.content_type,
        "Content-Disposition": sniff.disposition(f.content_type, f.name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if _matches(if_none_match, etag):
        return Content(304, {k: headers[k] for k in ("ETag", "Cache-Control")}, None)
    wanted: tuple[int, int] | None = None
    if if_range is None or if_range.strip() == etag:
        try:
            wanted = parse_range(range_header, f.size)
        except Unsatisfiable:
            return Content(
                416,
                {"Content-Range": f"bytes */{f.size}", "ETag": etag, "Accept-Ranges": "bytes"},
                None,
            )
    start, stop = wanted if wanted is not None else (0, f.size)
    status = 206 if wanted is not None else 200
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{f.size}"
    headers["Content-Length"] = str(stop - start)
    try:
        body = await _first_then_rest(storage.read(f.storage_key, start, stop))
    except ObjectMissing:
        log.error("file %s has a row but no bytes at %s", f.id, f.storage_key)
        raise NotFound("The file's content is missing.") from None
    return Content(status, headers, body)


async def open_content(ctx: Context, file_id: uuid.UUID) -> File:
    """The row of a file the caller may read, from a unit of its own (closed before the bytes
    stream: a download holds no database connection)."""
    async with own_unit(ctx) as unit:
        return await visible(unit, file_id)


async def open_signed(ctx: Context, file_id: uuid.UUID, expires: int, signature: str) -> File:
    s = settings_of(ctx)
    if not signing.valid(s.files_url_secret, file_id, expires, signature, ctx.now()):
        raise Forbidden("This link is not valid, or has expired.")
    async with own_unit(ctx) as unit:
        f = await repo.get(unit.session, file_id)
    if f is None:
        raise NotFound("File not found.")
    return f


# --- the sweeper ------------------------------------------------------------------------------


def stale_before(s: Settings, now: datetime) -> datetime:
    return now - timedelta(seconds=s.files_upload_timeout + 300)
