"""What `deferredrev serve` does to the process before it serves."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from deferredrev.server import freeze_startup_objects


@pytest.fixture
def unfrozen_afterwards() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


@pytest.mark.usefixtures("unfrozen_afterwards")
def test_startup_objects_leave_the_collectors_sight_and_garbage_goes_first() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the cyclic collector frees it

    kept = Node()
    garbage = weakref.ref(Node())  # unreachable, cyclic: made at "startup" but not part of it
    assert garbage() is not None
    freeze_startup_objects()
    assert gc.get_freeze_count() > 0
    assert garbage() is None  # collected first, not frozen forever
    assert all(o is not kept for o in gc.get_objects())  # out of every generation the collector walks
