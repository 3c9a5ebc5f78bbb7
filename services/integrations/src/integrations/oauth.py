"""The OAuth 2 calls of every provider, through Authlib's ``AsyncOAuth2Client`` (httpx).

Authlib builds the authorization URL (``state``, PKCE S256 ``code_challenge``), exchanges the
code (with the ``code_verifier``) and refreshes, with each provider's client authentication. What
differs between providers is data (``providers.registry``) plus one quirk handled here: Notion's
token endpoint takes a JSON body.

Errors are sorted for the callers: :class:`GrantRefused` (the provider said no for good:
``invalid_grant`` or its own name for it; reconnect), :class:`TransientError` (5xx, timeouts,
connection errors, 429: retry later with backoff), :class:`OAuthFailure` (any other refusal).
Neither the messages nor the ``repr`` of these errors contain a token.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import httpx
from authlib.common.urls import url_decode
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():
    # Authlib now prefers the httpx2 fork and warns when it falls back to httpx; the platform's
    # HTTP client is httpx, which the fallback supports fully
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from integrations.crypto import Secret
from integrations.providers.registry import Provider
from integrations.settings import Settings

log = logging.getLogger("vc.integrations.oauth")
# httpx logs every request URL at INFO; ours never carry a token, but keep the noise out
logging.getLogger("httpx").setLevel(logging.WARNING)


class ProviderError(Exception):
    """A provider call failed; ``code`` is the provider's error code (never a token)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class GrantRefused(ProviderError):
    """The grant is dead (revoked, expired, rotated away): the user must reconnect."""


class TransientError(ProviderError):
    """Worth retrying later: 5xx, 429, timeouts, connection errors."""


class OAuthFailure(ProviderError):
    """Any other refusal (a bad code, a bad client, ...)."""


class _JsonTokenClient(AsyncOAuth2Client):  # type: ignore[misc]
    """Notion: the token endpoint reads a JSON body (client auth stays HTTP Basic)."""

    async def _fetch_token(  # type: ignore[no-untyped-def]
        self,
        url,
        body="",
        headers=None,  # noqa: ARG002 (a JSON body sets its own content type)
        auth=None,
        method="POST",  # noqa: ARG002 (always POST)
        **kwargs,
    ):
        resp = await self.post(url, json=dict(url_decode(body)), auth=auth, **kwargs)
        for hook in self.compliance_hook["access_token_response"]:
            resp = hook(resp)
        return self.parse_response_token(resp)

    async def _refresh_token(  # type: ignore[no-untyped-def]
        self,
        url,
        refresh_token=None,  # noqa: ARG002 (kept by Provider.tokens when none comes back)
        body="",
        headers=None,  # noqa: ARG002
        auth=None,
        **kwargs,
    ):
        resp = await self.post(url, json=dict(url_decode(body)), auth=auth, **kwargs)
        for hook in self.compliance_hook["refresh_token_response"]:
            resp = hook(resp)
        return self.parse_response_token(resp)


class OAuthClients:
    """Builds one short-lived Authlib client per operation over one shared, pooled transport
    (the clients hold per-flow state; the connections are what is worth sharing)."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.transport = transport or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
        )

    async def aclose(self) -> None:
        await self.transport.aclose()

    def client(self, p: Provider, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        client_id, client_secret = p.client(self.settings)
        cls = _JsonTokenClient if p.json_token_body else AsyncOAuth2Client
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            token_endpoint_auth_method=p.token_auth,
            scope=p.scope or None,
            redirect_uri=redirect_uri,
            code_challenge_method="S256" if p.pkce else None,
            timeout=self.settings.provider_timeout,
            transport=self.transport,
        )

    def authorization_url(
        self, p: Provider, *, state: str, code_verifier: str | None, redirect_uri: str
    ) -> str:
        client = self.client(p, redirect_uri)
        url, _ = client.create_authorization_url(
            p.authorize_url(self.settings),
            state=state,
            code_verifier=code_verifier if p.pkce else None,
            **p.extra_authorize,
        )
        return str(url)

    async def exchange_code(
        self, p: Provider, *, code: str, code_verifier: Secret | None, redirect_uri: str
    ) -> dict[str, Any]:
        client = self.client(p, redirect_uri)
        extra: dict[str, Any] = {}
        if p.pkce and code_verifier is not None:
            extra["code_verifier"] = code_verifier.reveal()
        return await _call(
            p,
            client.fetch_token(
                p.token_url(self.settings),
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                **extra,
            ),
        )

    async def refresh(self, p: Provider, refresh_token: Secret) -> dict[str, Any]:
        client = self.client(p)
        client.scope = None  # a refresh keeps the granted scopes; some providers refuse a scope
        return await _call(
            p,
            client.refresh_token(p.token_url(self.settings), refresh_token=refresh_token.reveal()),
        )


async def _call(p: Provider, op: Any) -> dict[str, Any]:
    try:
        token = await op
    except OAuthError as exc:
        code = str(exc.error or "oauth_error")
        if code in p.dead_grant_errors:
            raise GrantRefused(code, str(exc.description or "")) from None
        if code in {"temporarily_unavailable", "server_error", "ratelimited"}:
            raise TransientError(code, str(exc.description or "")) from None
        raise OAuthFailure(code, str(exc.description or "")) from None
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        if status >= 500 or status == 429:
            raise TransientError(f"http_{status}", "the provider's token endpoint failed") from None
        raise OAuthFailure(f"http_{status}", "the provider's token endpoint refused") from None
    except httpx.TimeoutException:
        raise TransientError("timeout", "the provider's token endpoint did not answer") from None
    except httpx.TransportError as exc:
        raise TransientError("unreachable", type(exc).__name__) from None
    return dict(token)
