"""Connecting, listing and disconnecting integrations; keeping their tokens fresh.

- **connect**: a ``state`` of 256 random bits (its SHA-256 stored, bound to the user and the type,
  10 minutes, single use) and, where the provider supports PKCE, a ``code_verifier`` (stored
  encrypted); the authorization URL comes from Authlib.
- **callback**: the state is consumed atomically (a replay, an expired or unknown state, or a
  state of someone else when the callback is made with a bearer token: 400), the code is
  exchanged, the tokens are stored encrypted, ``integrations.integration.connected`` is
  published.
- **refresh** (the ``refresh`` job): integrations due (``refresh_due_at``: ``expires_at`` minus
  ``REFRESH_AHEAD_SECONDS``) are claimed ``FOR UPDATE SKIP LOCKED`` and refreshed concurrently;
  a refusal for good turns the integration ``needs_reconnect`` (``is_active`` false, published,
  never retried), a transient failure retries with exponential backoff.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from vc_common.context import Context
from vc_common.errors import Conflict, DomainError, NotFound, ServiceUnavailable
from vc_common.pagination import PageParams

from integrations import events
from integrations.connections import repository
from integrations.connections.models import Integration, OAuthState
from integrations.connections.schemas import ConnectCreate, IntegrationUpdate
from integrations.crypto import Secret
from integrations.oauth import GrantRefused, OAuthFailure, ProviderError, TransientError
from integrations.providers.registry import Provider, TokenSet, provider
from integrations.runtime import Runtime, runtime

log = logging.getLogger("vc.integrations.connections")

NOT_FOUND = "Integration not found."


class BadState(DomainError):
    status, slug, title = 400, "invalid-oauth-state", "Invalid OAuth state"


class ProviderRefused(DomainError):
    status, slug, title = 400, "provider-refused", "The provider refused"


def _provider(integration_type: str) -> Provider:
    p = provider(integration_type)
    if p is None:
        raise NotFound(f"Unknown integration type {integration_type!r}.")
    return p


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def default_redirect_uri(rt: Runtime, integration_type: str) -> str:
    return f"{rt.settings.public_url}/api/v1/integrations/{integration_type}/callback"


# ---------------------------------------------------------------------------- the flow


async def connect(ctx: Context, integration_type: str, body: ConnectCreate) -> tuple[str, datetime]:
    p = _provider(integration_type)
    user, rt, now = ctx.user, runtime(ctx), ctx.now()
    redirect_uri = str(body.redirect_uri) if body.redirect_uri else None
    redirect_uri = redirect_uri or default_redirect_uri(rt, p.type.value)
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64) if p.pkce else None
    expires = now + timedelta(seconds=rt.settings.state_ttl_seconds)
    await repository.add_state(
        ctx.session,
        OAuthState(
            state_hash=state_hash(state),
            user_id=user.id,
            integration_type=p.type.value,
            code_verifier=rt.cipher.encrypt(verifier),
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=expires,
        ),
    )
    url = rt.oauth.authorization_url(
        p, state=state, code_verifier=verifier, redirect_uri=redirect_uri
    )
    return url, expires


async def callback(
    ctx: Context,
    integration_type: str,
    *,
    code: str | None,
    state: str | None,
    error: str | None = None,
) -> Integration:
    p = _provider(integration_type)
    rt, now = runtime(ctx), ctx.now()
    if not state:
        raise BadState("The callback has no state.")
    pending = await repository.take_state(ctx.session, state_hash(state), p.type.value, now)
    if pending is None:
        raise BadState("The state is unknown, expired or already used; connect again.")
    if ctx.actor is not None and ctx.actor.id != pending.user_id:
        raise BadState("This authorization was started by another user.")
    if error:
        raise ProviderRefused(f"The provider answered {error!r}; nothing was connected.")
    if not code:
        raise BadState("The callback has no code.")
    try:
        raw = await rt.oauth.exchange_code(
            p,
            code=code,
            code_verifier=rt.cipher.decrypt(pending.code_verifier),
            redirect_uri=pending.redirect_uri,
        )
        tokens = p.tokens(raw, now, None)
    except TransientError as exc:
        raise ServiceUnavailable(
            f"The provider is not answering ({exc.code}); try again."
        ) from None
    except (OAuthFailure, GrantRefused) as exc:
        raise ProviderRefused(f"The provider refused the code ({exc.code}).") from None
    except (KeyError, ValueError, TypeError):
        raise ProviderRefused("The provider's token answer has no access token.") from None
    return await _store_connection(ctx, rt, p, pending.user_id, tokens)


async def _store_connection(
    ctx: Context, rt: Runtime, p: Provider, user_id: uuid.UUID, tokens: TokenSet
) -> Integration:
    existing = await repository.get_by_type(ctx.session, user_id, p.type.value, lock=True)
    now = ctx.now()
    i = existing or Integration(
        user_id=user_id, integration_type=p.type.value, config={}, generation=0
    )
    i.access_token = rt.cipher.encrypt(tokens.access_token)
    i.refresh_token = rt.cipher.encrypt(tokens.refresh_token)
    i.expires_at = tokens.expires_at
    i.scope = tokens.scope
    i.account = tokens.account
    i.is_active = True
    i.status = "connected"
    i.generation = (i.generation or 0) + 1
    i.refresh_failures = 0
    i.last_error = None
    i.refresh_due_at = _due(rt, tokens.expires_at) if tokens.refresh_token else None
    i.next_sync_at = now
    i.updated_at = now  # set, not left to onupdate: the answer reads it after the flush
    if existing is None:
        ctx.session.add(i)
    await ctx.session.flush()
    await events.connected(ctx, i, reconnected=existing is not None)
    return i


def _due(rt: Runtime, expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    return expires_at - timedelta(seconds=rt.settings.refresh_ahead_seconds)


# ---------------------------------------------------------------------------- reads, changes


async def list_integrations(ctx: Context, params: PageParams) -> tuple[list[Any], str | None]:
    return await repository.list_for_user(ctx.session, ctx.user.id, params)


async def get_own(ctx: Context, integration_id: uuid.UUID, *, lock: bool = False) -> Integration:
    """The caller's integration; someone else's is a 404 (its existence is not revealed)."""
    i = await repository.get(ctx.session, integration_id, lock=lock)
    if i is None:
        raise NotFound(NOT_FOUND)
    await ctx.authorize(None, "integration.manage", author_id=i.user_id, not_found=NOT_FOUND)
    return i


async def update_integration(
    ctx: Context, integration_id: uuid.UUID, body: IntegrationUpdate
) -> Integration:
    i = await get_own(ctx, integration_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    if "config" in changes:
        cfg = body.config.model_dump(exclude_unset=True, mode="json") if body.config else {}
        if cfg.get("team_id"):
            # only a member may have a team's tasks and meetings announced (404 otherwise)
            await ctx.authorize(uuid.UUID(cfg["team_id"]), "integration.link_team")
        i.config = {**(i.config or {}), **cfg}
        i.next_sync_at = ctx.now()
        i.updated_at = ctx.now()
    await ctx.session.flush()
    return i


async def disconnect(ctx: Context, integration_id: uuid.UUID) -> None:
    """Revoke at the provider where it can (best effort: a provider that is down does not keep
    the user connected), delete the tokens, keep the row as ``disconnected``."""
    from integrations.providers import revoke
    from integrations.syncs import repository as syncs

    i = await get_own(ctx, integration_id, lock=True)
    rt = runtime(ctx)
    if i.status == "disconnected":
        return
    revoked = False
    access = rt.cipher.decrypt(i.access_token)
    refresh = rt.cipher.decrypt(i.refresh_token)
    try:
        revoked = await revoke.revoke(rt, _provider(i.integration_type), access, refresh)
    except Exception as exc:  # the user's wish to disconnect wins over a provider error
        log.warning("revoking %s integration %s failed: %s", i.integration_type, i.id, type(exc))
    i.access_token = None
    i.refresh_token = None
    i.expires_at = None
    i.refresh_due_at = None
    i.is_active = False
    i.status = "disconnected"
    i.sync_cursor = None
    await syncs.cancel_pending(ctx.session, i.id, ctx.now(), "the integration was disconnected")
    await ctx.session.flush()
    await events.disconnected(ctx, i, revoked_at_provider=revoked)


# ---------------------------------------------------------------------------- tokens


def access_token(rt: Runtime, i: Integration) -> Secret:
    token = rt.cipher.decrypt(i.access_token)
    if token is None:
        raise Conflict("This integration has no token; connect it again.")
    return token


async def mark_needs_reconnect(ctx: Context, i: Integration, reason: str) -> None:
    """The provider refused the grant for good: stop using it, tell the owner, never retry."""
    i.is_active = False
    i.status = "needs_reconnect"
    i.refresh_due_at = None
    i.last_error = reason
    await ctx.session.flush()
    await events.needs_reconnect(ctx, i, reason)


async def _refresh_call(rt: Runtime, i: Integration, now: datetime) -> TokenSet | ProviderError:
    p = _provider(i.integration_type)
    refresh = rt.cipher.decrypt(i.refresh_token)
    if refresh is None:
        return GrantRefused("no_refresh_token")
    try:
        raw = await rt.oauth.refresh(p, refresh)
        return p.tokens(raw, now, refresh.reveal())
    except ProviderError as exc:
        return exc
    except (KeyError, ValueError, TypeError):
        return OAuthFailure("bad_token_response")


async def _apply_refresh(
    ctx: Context, rt: Runtime, i: Integration, result: TokenSet | ProviderError
) -> None:
    now = ctx.now()
    if isinstance(result, TokenSet):
        i.access_token = rt.cipher.encrypt(result.access_token)
        i.refresh_token = rt.cipher.encrypt(result.refresh_token)
        i.expires_at = result.expires_at
        i.refresh_due_at = _due(rt, i.expires_at)
        i.refresh_failures = 0
        i.last_error = None
        if result.scope:
            i.scope = result.scope
        return
    if isinstance(result, GrantRefused):
        log.info("integration %s: refresh refused (%s); needs reconnect", i.id, result.code)
        await mark_needs_reconnect(ctx, i, f"refresh refused: {result.code}")
        return
    i.refresh_failures += 1
    delay = min(rt.settings.refresh_max_backoff_seconds, 30 * 2 ** (i.refresh_failures - 1))
    i.refresh_due_at = now + timedelta(seconds=delay * (0.8 + 0.4 * random.random()))
    i.last_error = f"refresh failed: {result.code}"
    log.warning(
        "integration %s: refresh failed (%s), attempt %d; next try in %ds",
        i.id,
        result.code,
        i.refresh_failures,
        delay,
    )


async def refresh_due(ctx: Context) -> int:
    """The ``refresh`` job: one batch of due integrations, refreshed concurrently."""
    rt = runtime(ctx)
    rows = await repository.claim_refresh_due(ctx.session, ctx.now(), rt.settings.refresh_batch)
    if not rows:
        return 0
    sem = asyncio.Semaphore(rt.settings.refresh_concurrency)
    now = ctx.now()

    async def one(i: Integration) -> TokenSet | ProviderError:
        async with sem:
            return await _refresh_call(rt, i, now)

    results = await asyncio.gather(*(one(i) for i in rows))
    for i, result in zip(rows, results, strict=True):
        await _apply_refresh(ctx, rt, i, result)
    await ctx.session.flush()
    return len(rows)


async def fresh_access_token(ctx: Context, integration_id: uuid.UUID) -> tuple[Integration, Secret]:
    """For a sync or an API call: the integration (locked) and an access token that will not
    expire in the next minute, refreshed in-line under the row's lock when needed (the
    refresher skips a locked row, so the two never refresh the same token)."""
    rt = runtime(ctx)
    i = await repository.get(ctx.session, integration_id, lock=True)
    if i is None or not i.is_active:
        raise Conflict("The integration is not connected.")
    if (
        i.expires_at is not None
        and i.refresh_token is not None
        and i.expires_at <= ctx.now() + timedelta(seconds=60)
    ):
        result = await _refresh_call(rt, i, ctx.now())
        await _apply_refresh(ctx, rt, i, result)
        if isinstance(result, ProviderError):
            await ctx.session.flush()
            raise _RefreshFailed(result)
    return i, access_token(rt, i)


class _RefreshFailed(Exception):
    def __init__(self, error: ProviderError) -> None:
        super().__init__(f"the access token could not be refreshed: {error.code}")
        self.error = error


RefreshFailed = _RefreshFailed


async def purge(ctx: Context) -> int:
    """The ``housekeeping`` job: old OAuth states and webhook delivery ids."""
    from integrations.github import repository as github

    n = await repository.purge_states(ctx.session, ctx.now())
    n += await github.purge_deliveries(ctx.session, ctx.now())
    return n


async def rotate_keys(ctx: Context, batch: int = 500) -> int:
    """Re-encrypt every stored secret under the first key (rotation). Idempotent; safe while
    the service runs (each row under its lock; rows locked by a refresh are taken next time)."""
    rt = runtime(ctx)
    done = 0
    after: uuid.UUID | None = None
    while True:
        rows = await repository.stale_ciphertexts(ctx.session, after, batch)
        if not rows:
            return done
        for i in rows:
            for field in ("access_token", "refresh_token"):
                stored = getattr(i, field)
                if stored is not None and not rt.cipher.is_current(stored):
                    setattr(i, field, rt.cipher.rotate(stored))
                    done += 1
        after = rows[-1].id
        await ctx.session.flush()
