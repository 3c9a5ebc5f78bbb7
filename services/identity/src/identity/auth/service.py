"""Registration, login, token refresh and logout, e-mail verification: all the rules."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from vc_common.auth import AuthUser
from vc_common.context import Context
from vc_common.errors import Conflict, Invalid, NotFound, Unauthorized
from vc_common.ids import uuid7
from vc_common.ratelimit import Rate, RateLimiter, enforce

from identity import events
from identity.auth.passwords import Passwords
from identity.auth.schemas import LoginRequest, RegisterRequest, TokenPair
from identity.auth.throttle import LoginThrottle
from identity.auth.tokens import digest, issue_pair, new_secret, revoke_family
from identity.auth.usernames import login_key
from identity.keys.keyring import KeyRing
from identity.mail.outbox import queue_verification_mail
from identity.models import RefreshToken, User, UserProfile
from identity.revocations import SessionRevocations
from identity.settings import settings_of
from identity.users import repository as users

BAD_CREDENTIALS = "Invalid username or password."


class RefreshTokenReused(Exception):
    """A rotated refresh token came back: its family has been revoked (commit that)."""


def conflict_from(exc: IntegrityError) -> Conflict:
    text = str(exc.orig)
    field = "email" if "email" in text else "username"
    return Conflict(
        f"This {field} is already taken.",
        errors=[{"loc": ["body", field], "msg": f"{field} is already taken", "type": "conflict"}],
    )


async def new_verification(ctx: Context, user: User) -> None:
    """Give the profile a fresh verification token (only its hash is kept) and queue the mail."""
    settings = settings_of(ctx)
    token = new_secret()
    user.profile.verification_token = digest(token)
    user.profile.verification_expires_at = ctx.now() + timedelta(
        hours=settings.verification_token_ttl_hours
    )
    await queue_verification_mail(
        ctx.session,
        to=user.email,
        username=user.username,
        token=token,
        public_url=settings.public_url,
        ttl_hours=settings.verification_token_ttl_hours,
    )


async def resend_verification(ctx: Context, limiter: RateLimiter) -> None:
    """A new verification mail for the caller (the previous link stops working). Limited to a
    few an hour per user so the route cannot be used to flood someone's inbox."""
    user_id = ctx.user.id
    await enforce(limiter, f"verify-resend:{user_id}", Rate.parse("3/hour"))
    user = await users.get(ctx.session, user_id, for_update=True)
    if user is None or not user.is_active:
        raise NotFound("No such user.")
    if user.profile.is_verified:
        raise Conflict("This e-mail address is already verified.")
    await new_verification(ctx, user)


async def register(
    ctx: Context, passwords: Passwords, limiter: RateLimiter, data: RegisterRequest, ip: str
) -> User:
    settings = settings_of(ctx)
    await enforce(limiter, f"identity:register:ip:{ip}", Rate.parse(settings.register_rate_per_ip))
    account_rate = Rate.parse(settings.register_rate_per_account)
    await enforce(limiter, f"identity:register:account:{data.username.lower()}", account_rate)
    await enforce(limiter, f"identity:register:account:{data.email.lower()}", account_rate)

    user = User(
        id=uuid7(),
        username=data.username,
        email=data.email,
        first_name=data.first_name,
        last_name=data.last_name,
        password=await passwords.hash(data.password),
        date_joined=ctx.now(),
    )
    user.profile = UserProfile(user_id=user.id)
    await new_verification(ctx, user)
    try:
        await users.add(ctx.session, user)
    except IntegrityError as exc:
        raise conflict_from(exc) from exc
    await events.user_registered(ctx.session, user)
    return user


async def login(
    ctx: Context,
    passwords: Passwords,
    keyring: KeyRing,
    limiter: RateLimiter,
    throttle: LoginThrottle,
    data: LoginRequest,
    ip: str,
) -> TokenPair:
    settings = settings_of(ctx)
    await enforce(limiter, f"identity:login:ip:{ip}", Rate.parse(settings.login_rate_per_ip))
    user = await users.by_login(ctx.session, data.username)
    account = str(user.id) if user is not None else login_key(data.username)
    await throttle.check(account, ip)
    # an unknown user costs one argon2 verification too (against a dummy hash)
    ok = await passwords.verify(user.password if user is not None else None, data.password)
    if user is None or not ok or not user.is_active:
        await throttle.failed(account, ip)
        raise Unauthorized(
            BAD_CREDENTIALS if user is None or not ok else "This account is disabled."
        )
    await throttle.succeeded(account, ip)
    if passwords.needs_rehash(user.password):
        user.password = await passwords.hash(data.password)
    user.last_login = ctx.now()
    await keyring.refresh_if_stale()
    return await issue_pair(ctx, keyring, user)


async def refresh(
    ctx: Context, keyring: KeyRing, revocations: SessionRevocations, token: str
) -> TokenPair:
    session = ctx.session
    row = (
        (
            await session.execute(
                select(RefreshToken)
                .where(RefreshToken.token_hash == digest(token))
                .with_for_update()
            )
        )
        .scalars()
        .first()
    )
    if row is None:
        raise Unauthorized("The refresh token is invalid.")
    if row.used_at is not None or row.revoked_at is not None:
        await revoke_family(session, row.family_id)
        # the thief's (or the owner's) access tokens of this sign-in die with it
        await revocations.revoke_session(str(row.family_id), revocations.sign_in_expiry())
        raise RefreshTokenReused
    now = ctx.now()
    if row.expires_at <= now:
        raise Unauthorized("The refresh token has expired.")
    user = await users.get(session, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("The refresh token is invalid.")
    row.used_at = now
    await keyring.refresh_if_stale()
    return await issue_pair(ctx, keyring, user, family_id=row.family_id)


async def logout(
    ctx: Context, revocations: SessionRevocations, token: str, bearer: AuthUser | None
) -> None:
    row = (
        (
            await ctx.session.execute(
                select(RefreshToken).where(RefreshToken.token_hash == digest(token))
            )
        )
        .scalars()
        .first()
    )
    if row is not None:
        await revoke_family(ctx.session, row.family_id)
        # every access token this sign-in issued (its refreshes' too), wherever it is verified
        await revocations.revoke_session(str(row.family_id), revocations.sign_in_expiry())
    if bearer is not None:
        await revocations.revoke_token(bearer.jti, bearer.exp)


async def verify_email(ctx: Context, token: str) -> User:
    user = await users.by_verification_token(ctx.session, digest(token))
    profile = user.profile if user is not None else None
    now = ctx.now()
    if (
        user is None
        or profile is None
        or profile.verification_expires_at is None
        or profile.verification_expires_at <= now
    ):
        raise Invalid(
            "The verification token is invalid, expired or already used.", loc=["body", "token"]
        )
    profile.is_verified = True
    profile.verification_token = None
    profile.verification_expires_at = None
    profile.updated_at = now
    await ctx.session.flush()
    await events.user_verified(ctx.session, user)
    return user
