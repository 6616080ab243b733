"""release_freed_memory: garbage cycles are collected, and freed heap pages go back to the operating system."""

import gc
import os
import weakref

import pytest

from voice_monitoring.exporter import heap

PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class Node:
    pass


def test_a_reference_cycle_is_collected_by_the_release_not_left_for_the_collector():
    gc.disable()
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None  # only a collection frees a cycle, and the collector is off
        heap.release_freed_memory()
        assert gone() is None
    finally:
        gc.enable()


@pytest.mark.skipif(heap._MALLOC_TRIM is None, reason="malloc_trim is glibc's; elsewhere the release only collects")
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the resident size from /proc")
def test_heap_pages_freed_between_live_blocks_are_handed_back():
    # 1,000-byte blocks come from malloc's heap, not Python's arenas; keeping every tenth alive pins the heap's
    # top, so free() alone cannot shrink it and only malloc_trim returns the free pages between them.
    blocks = [i.to_bytes(8, "little") * 125 for i in range(60_000)]
    kept = blocks[::10]
    del blocks
    gc.collect()
    before = resident_bytes()
    heap.release_freed_memory()
    released = before - resident_bytes()
    assert released > 20 * MIB, f"released {released / MIB:.1f} MiB of about 54 MiB freed"
    assert len(kept) == 6_000
