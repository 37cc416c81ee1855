"""Polling helper for tests: wait for a condition with a deadline and a useful failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T], timeout: float = 60, interval: float = 0.2, what: str = "condition"
) -> T:
    """Calls ``probe`` until it returns something truthy, and returns that.

    Raises ``TimeoutError`` naming ``what`` and the last value (or exception) seen, so a
    failing test says what it was waiting for rather than just timing out.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = probe()
            if last:
                return last
        except Exception as exc:  # the object may not exist yet
            last = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s; last: {last!r}")
        time.sleep(interval)
