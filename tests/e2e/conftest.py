"""The end-to-end suites run on the platform of tests/conftest.py (``platform``, ``api``,
``nats_only``), started once per event bus for the whole session as `make run` starts it; each
test makes users and teams of its own.

Helpers: :func:`new_user` (registered and signed in through the gateway), :data:`RUN_DIRS` (the
platform's run folder: mails of the SMTP sink under ``mail/``).
"""

from __future__ import annotations

import pytest

from tests.launch import PLATFORM_ENV, PORTS, ROOT, RUN_DIRS, new_user

__all__ = ["PLATFORM_ENV", "PORTS", "ROOT", "RUN_DIRS", "new_user"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test on each platform pays for starting it (up to 240 s) and the last for
    stopping it: past the suite-wide 180 s. A test's own marker still wins."""
    for item in items:
        if "e2e" in item.path.parts and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(600))
