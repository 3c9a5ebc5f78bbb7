"""Labels: per team, names unique within the team; admins manage them, members read and use
them. A task only carries labels of its own team (422 otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.context import Context
from vc_common.errors import Conflict, Invalid, NotFound
from vc_common.pagination import PageParams

from tasks.labels import repository as repo
from tasks.labels.schemas import LabelCreate, LabelUpdate
from tasks.models import Label

LABEL_NOT_FOUND = "Label not found."


async def list_labels(
    ctx: Context, team_id: uuid.UUID, page: PageParams
) -> tuple[list[Label], str | None]:
    await ctx.authorize(team_id, "label.read")
    return await repo.page_of_team(ctx.session, team_id, page)


async def create_label(ctx: Context, team_id: uuid.UUID, data: LabelCreate) -> Label:
    await ctx.authorize(team_id, "label.manage")
    if await repo.by_name(ctx.session, team_id, data.name) is not None:
        raise Conflict(f"A label named {data.name!r} already exists in this team.")
    label = Label(team_id=team_id, name=data.name, color=data.color.upper())
    ctx.session.add(label)
    await ctx.session.flush()
    return label


async def visible_label(ctx: Context, label_id: uuid.UUID, action: str = "label.read") -> Label:
    label = await repo.get(ctx.session, label_id)
    if label is None:
        raise NotFound(LABEL_NOT_FOUND)
    await ctx.authorize(label.team_id, action, not_found=LABEL_NOT_FOUND)
    return label


async def update_label(ctx: Context, label_id: uuid.UUID, data: LabelUpdate) -> Label:
    label = await visible_label(ctx, label_id, "label.manage")
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "color"):
        if field in changes and changes[field] is None:
            raise Invalid(f"`{field}` cannot be null.", loc=["body", field])
    if "name" in changes and changes["name"] != label.name:
        if await repo.by_name(ctx.session, label.team_id, changes["name"]) is not None:
            raise Conflict(f"A label named {changes['name']!r} already exists in this team.")
        label.name = changes["name"]
    if "color" in changes:
        label.color = changes["color"].upper()
    await ctx.session.flush()
    return label


async def delete_label(ctx: Context, label_id: uuid.UUID) -> None:
    label = await visible_label(ctx, label_id, "label.manage")
    await ctx.session.delete(label)  # off every task by ON DELETE CASCADE
    await ctx.session.flush()


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


async def forget_team(ctx: Context, team_id: uuid.UUID) -> int:
    """A deleted team's labels (``teams.team.deleted``); how many there were."""
    return await repo.delete_of_team(ctx.session, team_id)
