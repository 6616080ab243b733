"""Handing memory the exporter has let go of back to the operating system.

Python returns freed objects to its own allocator and the C library keeps freed heap pages for reuse, so
after a burst of calls the resident memory stays at its peak.  glibc's ``malloc_trim`` releases those pages;
elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
