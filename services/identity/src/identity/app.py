"""``create_app()``: identity's FastAPI app. Nothing connects at import time."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI
from vc_common.app import create_service_app
from vc_common.auth import TokenVerifier
from vc_common.authz import Access
from vc_common.context import Context
from vc_common.health import CheckResult
from vc_common.jobs import Job

from identity.auth.endpoints import router as auth_router
from identity.auth.exchange import internal_router as exchange_router
from identity.auth.passwords import Passwords
from identity.consumers import consumer
from identity.keys.endpoints import router as keys_router
from identity.keys.keyring import KeyRing
from identity.keys.source import KeyRingSource
from identity.mail.sender import start_mail_sender
from identity.models import Base
from identity.permissions import PERMISSIONS
from identity.revocations import internal_router as revocations_router
from identity.revocations import purge_expired
from identity.settings import Settings
from identity.users.endpoints import admin_router
from identity.users.endpoints import router as users_router


async def load_keys(app: FastAPI, stack: AsyncExitStack) -> None:
    del stack
    await app.state.keyring.start(app.state.db)


async def keys_ready(app: FastAPI) -> CheckResult:
    keys = app.state.keyring.keys
    return CheckResult(bool(keys), {"signing_keys": len(keys)})


async def purge_revocations(ctx: Context) -> int:
    return await purge_expired(ctx.session)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    keyring = KeyRing(
        pem_keys=settings.jwt_private_keys, reload_seconds=settings.key_reload_seconds
    )

    def verifier(app: FastAPI) -> TokenVerifier:
        # identity verifies its own tokens in-process, against the same live keys
        return TokenVerifier(
            KeyRingSource(keyring, app.state.db),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            revocations=app.state.revocations,
        )

    app = create_service_app(
        settings,
        title="VirtualCoworking identity",
        description="Users, profiles, passwords, access and refresh tokens, and the JWKS.",
        routers=[
            auth_router,
            users_router,
            admin_router,
            keys_router,
            exchange_router,
            revocations_router,
        ],
        metadata=Base.metadata,
        access=Access(PERMISSIONS),  # no team data: staff rules only
        consumers=[consumer],
        on_startup=[load_keys, start_mail_sender],
        readiness={"signing_keys": keys_ready},
        jobs=[Job("revocations-purge", purge_revocations, every=300.0)],
        verifier=verifier,
    )
    app.state.keyring = keyring
    app.state.passwords = Passwords(settings)
    return app
