"""Handing memory the exporter has let go of back to the operating system.

Python's allocator returns a 1 MiB arena to the system only once every object in it is freed, and the C
library keeps freed heap pages for reuse, so after a burst of calls the resident memory stays near its peak.
Two things stand in the way.  The interpreter keeps up to thousands of freed tuples, floats, lists and dicts
on free lists for reuse; those freed last in a burst sit in the burst's arenas and keep every one of them: a
full garbage collection empties the free lists.  Then glibc's ``malloc_trim`` releases the freed heap pages
(elsewhere, musl or macOS, that step does nothing).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
