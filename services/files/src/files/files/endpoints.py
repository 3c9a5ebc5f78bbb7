"""Routes of team files: parse, call the service, shape the answer. Uploads and downloads are
streams (the endpoint hands the service the body's chunks, the service hands back blocks)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from vc_common.bodylimit import body_limit
from vc_common.context import ContextDep, PublicContextDep
from vc_common.errors import PROBLEM_RESPONSES
from vc_common.pagination import Page, PageDep

from files.deps import BYTES_RESPONSES, StorageDep, binary_body, body_of, content_length, respond
from files.files import service
from files.files.schemas import FileRead, FileUpdate

router = APIRouter(prefix="/api/v1", tags=["files"], responses=PROBLEM_RESPONSES)

RangeHeader = Annotated[str | None, Header(alias="Range")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
IfRange = Annotated[str | None, Header(alias="If-Range")]


@router.post(
    "/teams/{team_id}/files",
    status_code=status.HTTP_201_CREATED,
    response_model=FileRead,
    openapi_extra=binary_body(
        "The file as multipart/form-data (field `file`) or as the raw body with its "
        "Content-Type and `?filename=`. Streamed: never held whole in memory."
    ),
    responses={413: {"description": "over FILES_MAX_BYTES, or over the team's quota"}},
)
@body_limit(None)  # streamed, bounded by the service itself (413 past its limit)
async def upload_file(
    team_id: uuid.UUID,
    request: Request,
    ctx: ContextDep,
    storage: StorageDep,
    response: Response,
    filename: Annotated[str | None, Query(description="the name of a raw upload")] = None,
) -> FileRead:
    f = await service.upload(
        ctx,
        storage,
        team_id,
        body_of(request),
        content_type=request.headers.get("content-type"),
        content_length=content_length(request),
        filename=filename,
    )
    response.headers["Location"] = f"/api/v1/files/{f.id}"
    return service.view(ctx, f)


@router.get("/teams/{team_id}/files", response_model=Page[FileRead])
async def list_files(team_id: uuid.UUID, ctx: ContextDep, page: PageDep) -> Page[FileRead]:
    """The team's files, newest first."""
    rows, cursor = await service.list_files(ctx, team_id, page)
    return Page[FileRead](items=[service.view(ctx, f) for f in rows], next_cursor=cursor)


@router.get("/files/{file_id}", response_model=FileRead)
async def get_file(file_id: uuid.UUID, ctx: ContextDep) -> FileRead:
    return service.view(ctx, await service.get_file(ctx, file_id))


@router.patch("/files/{file_id}", response_model=FileRead)
async def update_file(file_id: uuid.UUID, body: FileUpdate, ctx: ContextDep) -> FileRead:
    """Rename (the uploader, or an admin of the team)."""
    return service.view(ctx, await service.rename(ctx, file_id, body))


@router.delete("/files/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_file(file_id: uuid.UUID, ctx: ContextDep) -> Response:
    """The uploader, or an admin of the team."""
    await service.delete_file(ctx, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/files/{file_id}/content", response_class=Response, responses=BYTES_RESPONSES)
async def download_file(
    file_id: uuid.UUID,
    ctx: ContextDep,
    storage: StorageDep,
    range_: RangeHeader = None,
    if_none_match: IfNoneMatch = None,
    if_range: IfRange = None,
) -> Response:
    """The bytes, streamed, with `ETag`; `Range` answers 206 (resumable downloads)."""
    f = await service.open_content(ctx, file_id)
    return respond(
        await service.content(
            storage, f, range_header=range_, if_none_match=if_none_match, if_range=if_range
        )
    )


@router.get("/files/{file_id}/download", response_class=Response, responses=BYTES_RESPONSES)
async def download_signed_file(
    file_id: uuid.UUID,
    ctx: PublicContextDep,
    storage: StorageDep,
    expires: Annotated[int, Query()],
    signature: Annotated[str, Query(max_length=128)],
    range_: RangeHeader = None,
    if_none_match: IfNoneMatch = None,
    if_range: IfRange = None,
) -> Response:
    """A `file_url`: no `Authorization` needed until it expires; 403 when tampered or expired."""
    f = await service.open_signed(ctx, file_id, expires, signature)
    return respond(
        await service.content(
            storage,
            f,
            range_header=range_,
            if_none_match=if_none_match,
            if_range=if_range,
            cache="private, max-age=300",
        )
    )
