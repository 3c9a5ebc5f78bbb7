"""What identity publishes (through its outbox, in the transaction of the change).

Schemas: ``contracts/events/identity.user.*.v1.json``. The subject is always the user id.
``username``, names, avatar and timezone are public (every signed-in user may see them);
``email`` travels only where a consumer (notifications) needs it to reach the user.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from vc_common.events.outbox import add_event

from identity.models import User, event_tables

SOURCE = "identity"
REGISTERED = "identity.user.registered"
VERIFIED = "identity.user.verified"
UPDATED = "identity.user.updated"
DEACTIVATED = "identity.user.deactivated"
REACTIVATED = "identity.user.reactivated"

PUBLIC_FIELDS = ("username", "first_name", "last_name", "avatar", "timezone")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _public(user: User) -> dict[str, Any]:
    return {
        "user_id": str(user.id),
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "avatar": user.profile.avatar,
        "timezone": user.profile.timezone,
    }


async def _emit(
    session: AsyncSession, type_: str, user_id: uuid.UUID, data: dict[str, Any]
) -> None:
    await add_event(session, event_tables, source=SOURCE, type=type_, subject=user_id, data=data)


async def user_registered(session: AsyncSession, user: User) -> None:
    await _emit(
        session,
        REGISTERED,
        user.id,
        {
            **_public(user),
            "email": user.email,
            "date_joined": user.date_joined.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    )


async def user_verified(session: AsyncSession, user: User) -> None:
    await _emit(
        session,
        VERIFIED,
        user.id,
        {
            "user_id": str(user.id),
            "username": user.username,
            "email": user.email,
            "verified_at": _now(),
        },
    )


async def user_updated(session: AsyncSession, user: User, changed: list[str]) -> None:
    """``changed`` names the public fields (and ``email``) that changed; the public fields are
    always all present so a consumer's projection is a plain overwrite."""
    data = {**_public(user), "changed_fields": changed}
    if "email" in changed:
        data["email"] = user.email
    await _emit(session, UPDATED, user.id, data)


async def user_deactivated(session: AsyncSession, user: User, actor_id: uuid.UUID) -> None:
    await _emit(
        session,
        DEACTIVATED,
        user.id,
        {
            "user_id": str(user.id),
            "username": user.username,
            "actor_id": str(actor_id),
            "deactivated_at": _now(),
        },
    )


async def user_reactivated(session: AsyncSession, user: User, actor_id: uuid.UUID) -> None:
    await _emit(
        session,
        REACTIVATED,
        user.id,
        {
            "user_id": str(user.id),
            "username": user.username,
            "actor_id": str(actor_id),
            "reactivated_at": _now(),
        },
    )
