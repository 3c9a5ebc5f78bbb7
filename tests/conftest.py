"""The platform the suites under tests/ share (tests/launch.py): started once per event bus
(NATS JetStream, then RabbitMQ) for the whole session, as `make run` starts it; each test makes
users and teams of its own. A module that needs only one bus asks for ``nats_only``.

The short chaos and soak runs (tests/chaos, tests/soak) use the NATS platform too, after every
other test on it: the soak samples a platform that has served the whole suite, and the faults
come last, so no other test depends on how the platform came back from them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from tests.launch import PORTS, RUN_DIRS, RUNNING, PlatformError, running_platform

LAST = ("soak", "chaos")  # in this order, at the end of the NATS platform's tests


@pytest.fixture(scope="session", params=["nats", "amqp"])
def platform(request: pytest.FixtureRequest) -> Iterator[str]:
    """The platform as `make run` starts it: on embedded NATS JetStream, or on RabbitMQ (the
    machine's, `RABBITMQ_URL`) with the very same code, chosen by EVENT_BUS_URL only."""
    try:
        with running_platform(request.param) as running:
            RUNNING[running.base] = running
            RUN_DIRS[running.base] = running.run_dir
            PORTS[running.base] = running.ports
            yield running.base
    except PlatformError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def nats_only(request: pytest.FixtureRequest) -> None:
    """For a module whose flow the bus does not change: run it on the NATS platform only."""
    if request.node.callspec.params.get("platform") != "nats":
        pytest.skip("run on the NATS platform only (the bus does not change this flow)")


@pytest_asyncio.fixture
async def api(platform: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform, timeout=15) as client:
        yield client


def _bus(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("platform") if callspec is not None else None


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by platform
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, d in enumerate(LAST) if d in item.path.parts), -1)

    late = sorted((i for i in items if rank(i) >= 0), key=rank)
    if not late:
        return
    rest = [i for i in items if rank(i) < 0]
    on_nats = [k for k, i in enumerate(rest) if _bus(i) == "nats"]
    at = on_nats[-1] + 1 if on_nats else len(rest)
    # each bus's items stay beside that bus's platform (the amqp ones skip at once)
    items[:] = [
        *rest[:at],
        *(i for i in late if _bus(i) != "amqp"),
        *(i for i in late if _bus(i) == "amqp"),
        *rest[at:],
    ]
