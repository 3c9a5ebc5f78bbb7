"""schemathesis hooks of `make verify` (`SCHEMATHESIS_HOOKS=tests.e2e.verify_hooks`).

The run is signed in as the owner of a real team (``VC_VERIFY_WORLD``: the JSON that
:mod:`tests.e2e.verify_world` built), and a generated path id that is a well-formed UUID becomes
that team's real resource of the same kind, so the fuzzer reaches the code behind the 404 (an id
that is not a UUID stays as generated: the 422 path is fuzzed too). DELETE operations get the
ids of a second team of the same owner, so a deleted team does not empty the first one early.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from typing import Any

import httpx
import schemathesis

_WORLD: dict[str, Any] = json.loads(open(os.environ["VC_VERIFY_WORLD"]).read())  # noqa: SIM115
_BASE = _WORLD["base_url"]
PASSWORD = "correct horse battery staple"


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@schemathesis.hook
def map_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> dict[str, Any]:
    if not path_parameters:
        return path_parameters
    op = context.operation
    world = _WORLD["doomed"] if op is not None and op.method.upper() == "DELETE" else _WORLD["main"]
    out = dict(path_parameters)
    for name, value in path_parameters.items():
        if name in world["ids"] and _is_uuid(value):
            out[name] = world["ids"][name]
    return out


def _login() -> dict[str, str]:
    """A real login. Logins are throttled per address, and the suites beside this one sign in
    from the same one: a 429 is waited out (its ``Retry-After``, a minute at most) rather than
    failing the hook, which schemathesis reports as a runtime error of the case."""
    deadline = time.monotonic() + 60
    while True:
        r = httpx.post(
            f"{_BASE}/api/v1/auth/login",
            json={"username": _WORLD["main"]["owner"]["username"], "password": PASSWORD},
            timeout=15,
        )
        if r.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(min(float(r.headers.get("retry-after") or 1), 5))
    r.raise_for_status()
    pair: dict[str, str] = r.json()
    return pair


def _refresh(refresh_token: str) -> dict[str, str]:
    """A new access token of the session of ``refresh_token``, or of a new session when that one
    has ended (a logout case that succeeded ends it)."""
    r = httpx.post(
        f"{_BASE}/api/v1/auth/refresh", json={"refresh_token": refresh_token}, timeout=15
    )
    if r.status_code in (400, 401, 403):
        return _login()
    r.raise_for_status()
    pair: dict[str, str] = r.json()
    return pair


# operations that end the session of the token they are called with: each case signs in anew
SESSION_ENDERS = frozenset({("POST", "/api/v1/auth/logout")})


@schemathesis.auth(refresh_interval=None)
class OwnerLogin:
    """A fresh access token every 5 minutes (they live 15), from a real login; a logout gets a
    session of its own, and a new access token of that session (a refresh, not a login: logins
    are throttled) for each case, so it does not sign the rest of the run out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token = ""
        self._at = 0.0
        self._ender_refresh = ""

    def get(self, case: Any, ctx: schemathesis.AuthContext) -> str:  # noqa: ARG002
        with self._lock:
            if (ctx.operation.method.upper(), ctx.operation.path) in SESSION_ENDERS:
                pair = _refresh(self._ender_refresh) if self._ender_refresh else _login()
                self._ender_refresh = pair["refresh_token"]
                return pair["access_token"]
            if not self._token or time.monotonic() - self._at > 300:
                self._token = _login()["access_token"]
                self._at = time.monotonic()
            return self._token

    def set(
        self,
        case: Any,
        data: str,
        ctx: schemathesis.AuthContext,  # noqa: ARG002
    ) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
