"""``vc_common.heap.settle``: the start-up heap frozen, what comes later still collected."""

from __future__ import annotations

import gc
import weakref

from vc_common import heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_the_heap_is_frozen_and_later_cycles_are_still_collected() -> None:
    threshold = gc.get_threshold()
    try:
        assert heap.settle() == gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
        node = _Node()
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None  # created after the freeze: collected as before
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
