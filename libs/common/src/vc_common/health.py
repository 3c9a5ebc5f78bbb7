"""``/livez`` (the process answers) and ``/readyz`` (database reachable, migrations at head, and
whatever else the service registers, such as the outbox relay's lag)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text


@dataclass
class CheckResult:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


ReadinessCheck = Callable[[Any], Awaitable[CheckResult]]


def alembic_heads(alembic_ini: Path) -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config(str(alembic_ini))
    cfg.set_main_option("script_location", str(alembic_ini.parent / "migrations"))
    return set(ScriptDirectory.from_config(cfg).get_heads())


async def database_check(app: Any) -> CheckResult:
    db = app.state.db
    heads: set[str] | None = getattr(app.state, "alembic_heads", None)
    async with db.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
        if heads is None:
            return CheckResult(True)
        rows = (await session.execute(text("SELECT version_num FROM alembic_version"))).all()
    current = {r[0] for r in rows}
    if current != heads:
        return CheckResult(
            False, {"migrations": "behind", "current": sorted(current), "head": sorted(heads)}
        )
    return CheckResult(True, {"migrations": "head"})


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        async def run(name: str, check: ReadinessCheck) -> tuple[str, CheckResult]:
            try:
                return name, await asyncio.wait_for(check(request.app), timeout=3.0)
            except Exception as exc:
                return name, CheckResult(False, {"error": type(exc).__name__})

        results = await asyncio.gather(*(run(n, c) for n, c in checks.items()))
        ok = all(r.ok for _, r in results)
        body = {
            "status": "ok" if ok else "unavailable",
            "checks": {n: {"status": "ok" if r.ok else "fail", **r.detail} for n, r in results},
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    return router
