"""The process's start-up heap out of the cyclic garbage collector's sight.

A service builds a large, long-lived heap before it answers anything: SQLAlchemy's metadata and
mappers, pydantic's validators, FastAPI's routes and dependants, the OpenAPI schema. CPython's
collector walks all of it on every full (oldest-generation) collection, and a request allocates
enough containers to start one every few hundred requests. Measured on identity (144,465
tracked objects once built): one full collection 82 ms; under 50 concurrent ``GET /users/me``
``gc_collect_main`` was 28 % of the process's on-CPU samples (py-spy ``--native --gil``), and
the pauses were its p99. ``gc.freeze()`` after start-up moves those objects to a permanent
generation that collections skip (the same collection then takes microseconds); what requests
allocate is still collected as before. The usual practice of large Python web services
(Instagram's ``gc.freeze`` before forking workers; CPython's documentation recommends it).

After the freeze the young-generation collections were still 13 % of identity's samples: a
request allocates a few hundred containers, so the default threshold (700) started one every
two or three requests. With 10,000 (in-process, 50 concurrent ``GET /users/me``, two runs of
three rounds each, alternated with the default): 1,086-1,298 vs 1,333-1,601 µs of CPU a
request; 100,000 was worse than 10,000 (1,205-1,612: a young generation that no longer fits
the caches).
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("vc.heap")

YOUNG_THRESHOLD = 10_000  # allocations between young-generation collections (CPython: 700)


def settle() -> int:
    """Collect what start-up left as garbage, then freeze the rest; returns how many objects
    the collector no longer walks."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    frozen = gc.get_freeze_count()
    log.debug("start-up heap frozen: %d objects", frozen)
    return frozen
