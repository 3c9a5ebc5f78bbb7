from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from vc_common.auth import AuthUser, bearer_token, verifier_of
from vc_common.context import ContextDep
from vc_common.errors import PROBLEM_RESPONSES, DomainError, Unauthorized

from identity.auth import service
from identity.auth.schemas import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    VerifyRequest,
)
from identity.deps import (
    AnonymousContext,
    ClientIP,
    KeyRingDep,
    LimiterDep,
    PasswordsDep,
    RevocationsDep,
    ThrottleDep,
)
from identity.users.schemas import UserRead

router = APIRouter(
    prefix="/api/v1/auth",
    tags=["auth"],
    responses={k: PROBLEM_RESPONSES[k] for k in (400, 401, 422, 429)},
)


async def optional_user(request: Request) -> AuthUser | None:
    """The bearer token's user when a valid one is presented; ``None`` otherwise."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    try:
        return await verifier_of(request).verify(token)
    except DomainError:
        return None


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses={409: PROBLEM_RESPONSES[409]},
)
async def register(
    body: RegisterRequest,
    ctx: AnonymousContext,
    passwords: PasswordsDep,
    limiter: LimiterDep,
    ip: ClientIP,
    response: Response,
) -> UserRead:
    """Create an account; a verification mail goes to ``email``."""
    user = await service.register(ctx, passwords, limiter, body, ip)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserRead.model_validate(user)


@router.post("/login", response_model=TokenPair)
async def login(
    body: LoginRequest,
    ctx: AnonymousContext,
    passwords: PasswordsDep,
    keyring: KeyRingDep,
    limiter: LimiterDep,
    throttle: ThrottleDep,
    ip: ClientIP,
) -> TokenPair:
    """Exchange a username (or e-mail) and password for an access and a refresh token. Failed
    attempts slow down their address (per account and overall), never the account elsewhere."""
    return await service.login(ctx, passwords, keyring, limiter, throttle, body, ip)


@router.post("/refresh", response_model=TokenPair)
async def refresh_tokens(
    body: RefreshRequest, ctx: AnonymousContext, keyring: KeyRingDep, revocations: RevocationsDep
) -> TokenPair:
    """Rotate a refresh token. Presenting one that was already rotated revokes its family."""
    try:
        return await service.refresh(ctx, keyring, revocations, body.refresh_token)
    except service.RefreshTokenReused:
        # the family's revocation must survive this 401 (the unit of work rolls back errors)
        await ctx.session.commit()
        raise Unauthorized(
            "The refresh token was already used; every token of this "
            "sign-in has been revoked. Sign in again."
        ) from None


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    body: LogoutRequest,
    ctx: AnonymousContext,
    revocations: RevocationsDep,
    bearer: Annotated[AuthUser | None, Depends(optional_user)],
) -> Response:
    """Revoke the refresh token's family and, when presented, the access token."""
    await service.logout(ctx, revocations, body.refresh_token, bearer)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/verify/resend", status_code=status.HTTP_202_ACCEPTED, response_class=Response)
async def resend_verification(ctx: ContextDep, limiter: LimiterDep) -> Response:
    """Mail the caller a new verification link (the previous one stops working); 409 when the
    address is already verified; at most 3 an hour."""
    await service.resend_verification(ctx, limiter)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/verify", response_model=UserRead)
async def verify_email(body: VerifyRequest, ctx: AnonymousContext) -> UserRead:
    """Confirm the e-mail address with the token from the verification mail. An unknown,
    expired or already used token is a 422."""
    user = await service.verify_email(ctx, body.token)
    return UserRead.model_validate(user)
