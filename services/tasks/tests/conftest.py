"""Fixtures of the tasks tests. The service under test, its ``client``, ``outbox``, ``deliver``
and ``clock`` come from the ``vc_common`` plugin; teams (a real HTTP server answering teams'
internal membership route, ``fake_teams``), ``team`` and ``make_team`` from ``teams_client``'s;
the files service's file route (``fake_files``) is a real HTTP server too.
Helpers that call the API live in ``kanban.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from teams_client.testing import Team
from vc_common.testing.servers import standing_in

from .files_standin import FakeFiles
from .kanban import create_board


@pytest.fixture(scope="session", autouse=True)
def fake_files() -> Iterator[FakeFiles]:
    """The files service's public file route (``FILES_URL``), for files tasks has not heard of."""
    with standing_in(FakeFiles(), "FILES_URL") as server:
        yield server


@pytest_asyncio.fixture
async def board(client: httpx.AsyncClient, team: Team) -> dict[str, Any]:
    """A board of ``team`` with its default columns To do, In progress, Done (is_done)."""
    return await create_board(client, team)
