"""Fixtures of the observability tests: the small service of ``vc_obs_kit`` on its own database."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine
from vc_common.testing.plugin import ServiceUnderTest

sys.path.insert(0, str(Path(__file__).parent))

from vc_obs_kit import create_app, metadata


@pytest.fixture(scope="session")
def vc_service() -> ServiceUnderTest:
    return ServiceUnderTest(name="obs", app_factory=create_app, migrations=False)


@pytest_asyncio.fixture(scope="session", autouse=True)
async def _schema(db_engine: AsyncEngine) -> AsyncIterator[None]:
    async with db_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield
