"""The heap trimmer: glibc's malloc_trim where it exists, and a loop that stops when asked."""

from __future__ import annotations

import asyncio

from litemaas_operator.controller import memory


def test_the_trimmer_is_glibcs_and_the_loop_trims_until_cancelled(monkeypatch) -> None:
    assert memory.trimmer() is not None  # this machine runs glibc
    calls: list[int] = []
    monkeypatch.setattr(memory, "trimmer", lambda: calls.append)

    async def run() -> None:
        task = asyncio.create_task(memory.trim_forever(0.01))
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run())
    assert calls and set(calls) == {0}


def test_without_glibc_there_is_nothing_to_do(monkeypatch) -> None:
    monkeypatch.setattr(memory, "trimmer", lambda: None)
    asyncio.run(asyncio.wait_for(memory.trim_forever(0.01), 1))  # returns at once
