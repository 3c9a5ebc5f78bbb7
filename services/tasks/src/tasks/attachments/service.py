"""Attachments: a team file of the files service (``file_id``), or a link stored elsewhere (URL
and name). Members attach them; the uploader or an admin of the team removes one.

Team files are known from the files service's events (``files.file.uploaded`` / ``.deleted``);
a file tasks has not heard of yet (just uploaded, its event on the way) is asked of the files
service with the caller's token and learnt. A file of another team, a deleted one, or one the
files service does not show the caller is a 422; a deleted file disappears from every task it
was attached to, each with an ``attachment_removed`` history row."""

from __future__ import annotations

import uuid
from typing import Any

from vc_common.context import Context
from vc_common.errors import Invalid, NotFound
from vc_common.pagination import PageParams

from tasks import events
from tasks.attachments import files_api
from tasks.attachments import repository as repo
from tasks.attachments.schemas import AttachmentCreate
from tasks.models import KnownFile, TaskAttachment
from tasks.tasks.service import visible_task

ATTACHMENT_NOT_FOUND = "Attachment not found."


def content_url(file_id: uuid.UUID) -> str:
    """A team file's ``file_url``: its bytes through the gateway (with a token; the files
    service hands out short-lived signed links on ``GET /api/v1/files/{id}``)."""
    return f"/api/v1/files/{file_id}/content"


def _file_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "file_id": uuid.UUID(str(data["file_id"])),
        "team_id": uuid.UUID(str(data["team_id"])),
        "name": str(data["name"])[:255],
        "size": int(data["size"]),
        "uploaded_by_id": uuid.UUID(str(data.get("uploaded_by_id") or data["user_id"])),
    }


async def _ask_files(ctx: Context, file_id: uuid.UUID) -> KnownFile | None:
    """The files service's answer, learnt as its event would have taught it (the event, when it
    comes, changes nothing)."""
    found = await files_api.fetch_file(
        ctx.settings.files_url, ctx.user.token, file_id, seconds=ctx.settings.files_timeout
    )
    if found is None or str(found.get("id")) != str(file_id):
        return None
    await repo.learn_file(ctx.session, _file_values({**found, "file_id": found["id"]}))
    return await repo.known_file(ctx.session, file_id)


async def file_uploaded(ctx: Context, data: dict[str, Any]) -> None:
    await repo.learn_file(ctx.session, _file_values(data))


async def file_deleted(ctx: Context, data: dict[str, Any]) -> int:
    """Forget the file and remove it from its tasks; how many attachments went."""
    values = _file_values(data)
    await repo.forget_file(ctx.session, values, ctx.now())
    gone = await repo.detach_file(ctx.session, values["file_id"])
    actor_raw = data.get("user_id")
    actor = uuid.UUID(str(actor_raw)) if actor_raw else None
    for att, task in gone:
        await events.record_activity(
            ctx.session,
            task,
            actor=actor,
            action="attachment_removed",
            changes={
                "filename": {"from": att.filename, "to": None},
                "reason": {"from": None, "to": "file_deleted"},
            },
        )
    return len(gone)


async def list_attachments(
    ctx: Context, task_id: uuid.UUID, page: PageParams
) -> tuple[list[TaskAttachment], str | None]:
    task = await visible_task(ctx, task_id)
    return await repo.page_of_task(ctx.session, task.id, page)


async def add_attachment(
    ctx: Context, task_id: uuid.UUID, data: AttachmentCreate
) -> TaskAttachment:
    task = await visible_task(ctx, task_id, "attachment.add")
    session = ctx.session
    if data.file_id is not None:  # a team file: it must be one of the task's team
        known = await repo.known_file(session, data.file_id)
        if known is None:
            known = await _ask_files(ctx, data.file_id)
        if known is None or known.deleted_at is not None or known.team_id != task.team_id:
            raise Invalid("No such file in this task's team.", loc=["body", "file_id"])
        att = TaskAttachment(
            task_id=task.id,
            file_id=known.file_id,
            file_url=content_url(known.file_id),
            filename=known.name,
            uploaded_by_id=ctx.user.id,
        )
    else:
        assert data.file_url is not None
        assert data.filename is not None
        att = TaskAttachment(
            task_id=task.id,
            file_url=data.file_url,
            filename=data.filename,
            uploaded_by_id=ctx.user.id,
        )
    session.add(att)
    await session.flush()
    await session.refresh(att)
    await events.record_activity(
        session,
        task,
        actor=ctx.user.id,
        action="attachment_added",
        changes={"filename": {"from": None, "to": att.filename}},
    )
    return att


async def delete_attachment(ctx: Context, task_id: uuid.UUID, attachment_id: uuid.UUID) -> None:
    found = await repo.with_task(ctx.session, attachment_id, task_id)
    if found is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    att, task = found
    await ctx.authorize(
        task.team_id,
        "attachment.delete",
        author_id=att.uploaded_by_id,
        not_found=ATTACHMENT_NOT_FOUND,
    )
    await ctx.session.delete(att)
    await ctx.session.flush()
    await events.record_activity(
        ctx.session,
        task,
        actor=ctx.user.id,
        action="attachment_removed",
        changes={"filename": {"from": att.filename, "to": None}},
    )
