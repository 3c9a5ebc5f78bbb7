"""Routes of avatars: set one's own (a thumbnail is made), and the public thumbnails."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from vc_common.bodylimit import body_limit
from vc_common.context import ContextDep, PublicContextDep
from vc_common.errors import PROBLEM_RESPONSES

from files.avatars import service
from files.avatars.schemas import AvatarRead
from files.deps import BYTES_RESPONSES, StorageDep, binary_body, body_of, content_length, respond
from files.files.service import content

router = APIRouter(prefix="/api/v1", tags=["avatars"], responses=PROBLEM_RESPONSES)


@router.put(
    "/users/me/avatar",
    response_model=AvatarRead,
    openapi_extra=binary_body("A PNG, JPEG or WebP image, at most 5 MiB (raw or field `file`)."),
    responses={413: {"description": "over AVATAR_MAX_BYTES"}},
)
@body_limit(None)  # streamed, bounded by the service itself (413 past its limit)
async def set_my_avatar(request: Request, ctx: ContextDep, storage: StorageDep) -> AvatarRead:
    """The caller's avatar: re-encoded as a square WebP thumbnail; the profile's `avatar`
    becomes its URL (identity learns it from `files.avatar.updated`)."""
    f, thumb = await service.set_avatar(
        ctx,
        storage,
        body_of(request),
        content_type=request.headers.get("content-type"),
        content_length=content_length(request),
    )
    return AvatarRead(
        avatar=service.avatar_url(ctx, f.id),
        file_id=f.id,
        size=f.size,
        content_type=f.content_type,
        width=thumb.width,
        height=thumb.height,
    )


@router.get("/avatars/{file_id}", response_class=Response, responses=BYTES_RESPONSES)
async def get_avatar(
    file_id: uuid.UUID,
    ctx: PublicContextDep,
    storage: StorageDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """A thumbnail, public (an avatar is shown to anyone who sees its user); a new avatar has a
    new URL, so this one is cached for a year."""
    f = await service.open_avatar(ctx, file_id)
    return respond(
        await content(
            storage,
            f,
            range_header=None,
            if_none_match=if_none_match,
            if_range=None,
            cache="public, max-age=31536000, immutable",
        )
    )
