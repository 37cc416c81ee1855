"""Giving the heap that bursts freed back to the system.

A burst (hundreds of CRs created, or a restart taking over all of them) parses and renders a
lot at once; Python frees it, but glibc's allocator keeps the pages of its main heap unless it
is asked to trim them, and the process then stays at its peak. ``malloc_trim`` is glibc's own
call for that; elsewhere (musl, macOS) there is nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
from collections.abc import Callable

TRIM_SECONDS = 60.0


def trimmer() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


async def trim_forever(interval: float = TRIM_SECONDS) -> None:
    """Trim the heap every ``interval`` seconds (a few milliseconds each)."""
    trim = trimmer()
    if trim is None:
        return
    while True:
        await asyncio.sleep(interval)
        with contextlib.suppress(OSError):
            trim(0)
