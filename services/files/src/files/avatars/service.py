"""Avatars: a user's picture, checked by decoding it and re-encoded as a square thumbnail.

The upload (PNG, JPEG or WebP, at most ``AVATAR_MAX_BYTES``) is read whole (it is small and must
be decoded anyway), its header decoded by Pillow: the format must be one of the three and the
declared dimensions within ``AVATAR_MAX_PIXELS`` before any pixel is decoded (an image bomb, a
tiny file declaring a gigantic canvas, is refused there; Pillow's own ``MAX_IMAGE_PIXELS`` guard
is set to the same bound). Then it is oriented (EXIF), cropped to a centred square, resized to
``AVATAR_SIZE`` and saved as WebP: what is served is never the uploaded bytes.

The thumbnail is a file without a team (``kind = avatar``), with the same lifecycle (a committed
``pending`` row before its bytes; the previous avatar marked ``deleted`` for the sweeper). Its
URL is public (``/api/v1/avatars/{id}``, a new id per avatar, cached for a year), and
``files.avatar.updated`` tells identity to set the profile's ``avatar`` to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from vc_common.context import Context
from vc_common.errors import Invalid, NotFound
from vc_common.ids import uuid7

from files import events
from files.errors import PayloadTooLarge
from files.files import repository as repo
from files.files.service import settings_of, storage_key
from files.models import AVATAR, DELETED, PENDING, STORED, File
from files.multipart import MULTIPART_OVERHEAD, MultipartFile, boundary_of
from files.storage import Storage, put_bytes
from files.units import own_unit

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
CONTENT_TYPE = "image/webp"


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    width: int
    height: int


def avatar_url(ctx: Context, file_id: uuid.UUID) -> str:
    return f"{settings_of(ctx).files_public_url}/api/v1/avatars/{file_id}"


def make_thumbnail(data: bytes, *, max_pixels: int, size: int) -> Thumbnail:
    """Decode, check and re-encode (CPU work: run it in a thread)."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=list(FORMATS))
            width, height = im.size
            if width * height > max_pixels:
                raise Invalid(
                    f"The image is {width}x{height}: at most {max_pixels} pixels.",
                    loc=["body"],
                )
            im.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(f"The image declares more than {max_pixels} pixels.", loc=["body"]) from None
    except UnidentifiedImageError:
        raise Invalid("The avatar must be a PNG, JPEG or WebP image.", loc=["body"]) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Invalid(f"The image cannot be decoded: {exc}", loc=["body"]) from None
    upright: Image.Image = ImageOps.exif_transpose(im)
    upright = upright.convert("RGBA" if upright.mode in ("RGBA", "LA", "P", "PA") else "RGB")
    square = ImageOps.fit(upright, (size, size), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="WEBP", quality=85, method=4)
    return Thumbnail(out.getvalue(), size, size)


async def _read_bounded(
    body: AsyncIterator[bytes], limit: int, boundary: bytes | None
) -> tuple[bytes, str | None]:
    parts: list[bytes] = []
    total = 0

    def too_large() -> PayloadTooLarge:
        return PayloadTooLarge(f"An avatar may be at most {limit} bytes.", reason="size")

    if boundary is not None:
        part = MultipartFile(body, boundary)
        await part.open()
        async for piece in part.data():
            total += len(piece)
            if total > limit:
                raise too_large()
            parts.append(piece)
        return b"".join(parts), part.content_type
    async for chunk in body:
        total += len(chunk)
        if total > limit:
            raise too_large()
        parts.append(chunk)
    return b"".join(parts), None


async def set_avatar(
    ctx: Context,
    storage: Storage,
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
) -> tuple[File, Thumbnail]:
    s = settings_of(ctx)
    user = ctx.user
    boundary = boundary_of(content_type or "")
    allowed = s.avatar_max_bytes + (MULTIPART_OVERHEAD if boundary is not None else 0)
    if content_length is not None and content_length > allowed:
        raise PayloadTooLarge(
            f"An avatar may be at most {s.avatar_max_bytes} bytes.", reason="size"
        )
    data, _ = await _read_bounded(body, s.avatar_max_bytes, boundary)
    if not data:
        raise Invalid("The body holds no image.", loc=["body"])
    thumb = await asyncio.to_thread(
        make_thumbnail, data, max_pixels=s.avatar_max_pixels, size=s.avatar_size
    )
    del data
    file_id = uuid7()
    key = storage_key(None, file_id)
    async with own_unit(ctx) as unit:  # the row before the bytes
        unit.session.add(
            File(
                id=file_id,
                team_id=None,
                kind=AVATAR,
                name=f"avatar-{user.id}.webp",
                size=len(thumb.data),
                content_type=CONTENT_TYPE,
                storage_key=key,
                uploaded_by_id=user.id,
                state=PENDING,
            )
        )
    try:
        await put_bytes(storage, key, thumb.data)
    except BaseException:
        await asyncio.shield(_drop(ctx, file_id))
        raise
    f = await repo.get_pending(ctx.session, file_id)
    if f is None:
        raise NotFound("The avatar upload was reclaimed; retry.")
    now = ctx.now()
    for old in await repo.current_avatars(ctx.session, user.id):
        old.state = DELETED
        old.deleted_at = now
        old.updated_at = now
    f.sha256 = hashlib.sha256(thumb.data).hexdigest()
    f.state = STORED
    f.updated_at = now
    await ctx.session.flush()
    await events.avatar_updated(ctx, f, avatar_url(ctx, f.id))
    return f, thumb


async def _drop(ctx: Context, file_id: uuid.UUID) -> None:
    async with own_unit(ctx) as unit:
        await repo.drop_pending(unit.session, file_id)


async def open_avatar(ctx: Context, file_id: uuid.UUID) -> File:
    async with own_unit(ctx) as unit:
        f = await repo.get(unit.session, file_id, kind=AVATAR)
    if f is None:
        raise NotFound("Avatar not found.")
    return f
