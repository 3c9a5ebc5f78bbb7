"""What files publishes: each event through the outbox, in the transaction of its change.
Every type has a JSON Schema in contracts/events/<type>.v1.json.

- ``files.file.uploaded``: a team file is stored (``file_id, team_id, user_id, size, name``,
  plus ``content_type, sha256``).
- ``files.file.deleted``: a team file is gone for users (deleted, or with its team: ``reason``);
  its bytes follow shortly (the sweeper).
- ``files.avatar.updated``: a user's avatar is a new thumbnail (``user_id, file_id,
  avatar_url``): identity sets the profile's ``avatar`` from it.
"""

from __future__ import annotations

import uuid
from typing import Any

from vc_common.context import Context
from vc_common.events.outbox import add_event

from files.models import File, event_tables

SOURCE = "files"
FILE_UPLOADED = "files.file.uploaded"
FILE_DELETED = "files.file.deleted"
AVATAR_UPDATED = "files.avatar.updated"


async def publish(ctx: Context, type_: str, subject: uuid.UUID | str, data: dict[str, Any]) -> None:
    await add_event(
        ctx.session, event_tables, source=SOURCE, type=type_, subject=subject, data=data
    )


def _file(f: File, user_id: uuid.UUID) -> dict[str, Any]:
    return {
        "file_id": str(f.id),
        "team_id": str(f.team_id),
        "user_id": str(user_id),
        "size": f.size,
        "name": f.name,
    }


async def file_uploaded(ctx: Context, f: File) -> None:
    data = _file(f, f.uploaded_by_id)
    data.update(content_type=f.content_type, sha256=f.sha256)
    await publish(ctx, FILE_UPLOADED, f.id, data)


async def file_deleted(ctx: Context, f: File, user_id: uuid.UUID, reason: str) -> None:
    data = _file(f, user_id)
    data.update(reason=reason, uploaded_by_id=str(f.uploaded_by_id))
    await publish(ctx, FILE_DELETED, f.id, data)


async def avatar_updated(ctx: Context, f: File, url: str) -> None:
    await publish(
        ctx,
        AVATAR_UPDATED,
        f.uploaded_by_id,
        {"user_id": str(f.uploaded_by_id), "file_id": str(f.id), "avatar_url": url},
    )
