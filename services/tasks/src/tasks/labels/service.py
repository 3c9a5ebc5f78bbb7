"""Labels: per team, names unique within the team; admins manage them, members read and use."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.auth import AuthUser
from vc_common.errors import Conflict, Invalid, NotFound

from tasks import access
from tasks.labels import repository as repo
from tasks.labels.schemas import LabelCreate, LabelUpdate
from tasks.models import Label


async def create(session: AsyncSession, team_id: uuid.UUID, data: LabelCreate) -> Label:
    if await repo.by_name(session, team_id, data.name) is not None:
        raise Conflict(f"A label named {data.name!r} already exists in this team.")
    label = Label(team_id=team_id, name=data.name, color=data.color.upper())
    session.add(label)
    await session.flush()
    return label


async def visible(
    session: AsyncSession,
    request: Request,
    user: AuthUser,
    label_id: uuid.UUID,
    min_role: str = access.MEMBER,
) -> Label:
    label = await repo.get(session, label_id)
    if label is None:
        raise NotFound("Label not found.")
    await access.authorize(session, request, label.team_id, user, min_role)
    return label


async def update(session: AsyncSession, label: Label, data: LabelUpdate) -> Label:
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "color"):
        if field in changes and changes[field] is None:
            raise Invalid(f"`{field}` cannot be null.", loc=["body", field])
    if "name" in changes and changes["name"] != label.name:
        if await repo.by_name(session, label.team_id, changes["name"]) is not None:
            raise Conflict(f"A label named {changes['name']!r} already exists in this team.")
        label.name = changes["name"]
    if "color" in changes:
        label.color = changes["color"].upper()
    await session.flush()
    return label


async def delete(session: AsyncSession, label: Label) -> None:
    await session.delete(label)
    await session.flush()


async def of_team_checked(
    session: AsyncSession, team_id: uuid.UUID, label_ids: Sequence[uuid.UUID], loc: list[str | int]
) -> list[Label]:
    """The labels named by ``label_ids``; 422 when one is unknown or belongs to another team."""
    wanted = list(dict.fromkeys(label_ids))
    labels = await repo.many(session, wanted)
    found = {label.id: label for label in labels if label.team_id == team_id}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise Invalid(f"Unknown labels for this team: {', '.join(missing)}.", loc=loc)
    return [found[i] for i in wanted]
