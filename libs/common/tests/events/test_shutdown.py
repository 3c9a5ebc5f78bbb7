"""A service's shutdown never waits on a step that does not answer its cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from vc_common.events.runtime import _within


async def _stubborn(release: asyncio.Event) -> None:
    """A close that swallows cancellations until it is released (as a client library's
    close may)."""
    while not release.is_set():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)


async def test_a_step_that_ignores_its_cancellation_is_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()
    started = time.monotonic()
    await _within(_stubborn(release), 0.2, "stubborn close")
    assert time.monotonic() - started < 1.0  # asyncio.wait_for would wait until released
    assert "stubborn close did not finish within" in caplog.text
    release.set()
    await asyncio.sleep(0.1)


async def test_a_failing_step_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    await _within(broken(), 1.0, "broken close")
    assert "broken close failed: RuntimeError('boom')" in caplog.text
