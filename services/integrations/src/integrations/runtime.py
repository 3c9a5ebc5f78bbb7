"""What the rules need besides the unit of work: the token cipher, the OAuth clients, one pooled
HTTP client for the providers' APIs, and the tasks client. Built once per app in its lifespan
(``app.state.runtime``); service functions get it with ``runtime(ctx)``, so an endpoint, a
consumer and a job reach the same one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from vc_common.context import Context

from integrations.crypto import TokenCipher
from integrations.oauth import OAuthClients
from integrations.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    cipher: TokenCipher
    oauth: OAuthClients
    http: httpx.AsyncClient
    tasks: Any  # integrations.tasks_api.TasksClient

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.oauth.aclose()
        await self.tasks.aclose()


def build(settings: Settings) -> Runtime:
    from integrations.tasks_api import TasksClient

    return Runtime(
        settings=settings,
        cipher=TokenCipher(settings.keys()),
        oauth=OAuthClients(settings),
        http=httpx.AsyncClient(
            timeout=settings.provider_timeout,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        ),
        tasks=TasksClient(settings),
    )


def runtime(ctx: Context) -> Runtime:
    rt: Runtime = ctx.resource("runtime")
    return rt
