"""Run several writes at once and let every one of them finish."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def gather_all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Await all of ``awaitables`` concurrently; their results, in order.

    Unlike a bare ``asyncio.gather``, a failure does not leave the others running unobserved:
    every one finishes first (so no write is still in flight when the caller moves on), then
    the first error is raised.
    """
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]
