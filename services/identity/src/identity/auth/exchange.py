"""Internal token exchange: a service acting for a user (RFC 8693 in spirit).

``POST /internal/v1/token-exchange`` (not routed by the gateway), authenticated by the calling
service's credential (HTTP Basic ``<service>:<secret>``, from ``SERVICE_CREDENTIALS``), body
``{"subject": <user id>}``: a short-lived access token (``SERVICE_TOKEN_TTL_SECONDS``, 5 minutes)
for that user, with ``act: {"sub": "<service>"}`` naming who acts. Every service verifies it like
any access token and applies its own rules *as that user*: the calling service gets no power the
user does not have, and an inactive user gets nothing. Used by integrations (a GitHub sync
creates tasks as the user who connected GitHub).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict
from vc_common.context import Context
from vc_common.errors import PROBLEM_RESPONSES, NotFound, Unauthorized

from identity.auth.tokens import access_token, outwait_revocation
from identity.deps import AnonymousContext, KeyRingDep
from identity.keys.keyring import KeyRing
from identity.users import repository as users

internal_router = APIRouter(
    prefix="/internal/v1", include_in_schema=False, responses=PROBLEM_RESPONSES
)


class TokenExchange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: uuid.UUID


class ExchangedToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    issued_token_type: str = "urn:ietf:params:oauth:token-type:access_token"


def _service(authorization: str | None, services: dict[str, str]) -> str:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("A service credential is required.")
    try:
        name, _, secret = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("A service credential is required.") from None
    expected = services.get(name)
    if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
        raise Unauthorized("Unknown service credential.")
    return name


async def exchange(
    ctx: Context, keyring: KeyRing, authorization: str | None, subject: uuid.UUID
) -> ExchangedToken:
    """A short-lived access token for ``subject``, naming the calling service as the actor."""
    settings = ctx.settings
    service = _service(authorization, settings.services)
    user = await users.get(ctx.session, subject)
    if user is None or not user.is_active:
        raise NotFound("No active user with this id.")
    ttl = settings.service_token_ttl_seconds
    await outwait_revocation(ctx.session, user.id)
    return ExchangedToken(
        access_token=access_token(keyring, settings, user, actor=service, ttl_seconds=ttl),
        expires_in=ttl,
    )


@internal_router.post("/token-exchange", response_model=ExchangedToken)
async def exchange_token(
    body: TokenExchange,
    ctx: AnonymousContext,
    keyring: KeyRingDep,
    authorization: Annotated[str | None, Header()] = None,
) -> ExchangedToken:
    return await exchange(ctx, keyring, authorization, body.subject)
