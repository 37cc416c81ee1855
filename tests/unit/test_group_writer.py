"""The per-process Group writer: changes pending together become one write, whose outcome
reaches every reconcile that waited for it.

The write itself is a recording function here (the read-merge-replace against a real API server
is tested in tests/integration); what is pinned is the queueing: how many writes, with what.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from litemaas_operator.controller.group_writer import Change, GroupWriter


class Recorder:
    """A write that records its batches; ``gate`` holds the first write until released."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.batches: list[tuple[str, dict[str, Change]]] = []
        self.gate = asyncio.Event()
        self.fail = fail

    async def __call__(self, group: str, changes: Mapping[str, Change]) -> set[str]:
        self.batches.append((group, dict(changes)))
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return {key for key, mine in changes.items() if mine != ["unchanged"]}


def test_changes_submitted_together_are_one_write():
    async def scenario() -> tuple[list[bool], Recorder]:
        write = Recorder()
        writer = GroupWriter(write)
        waits = [
            asyncio.create_task(writer.submit("admins", f"key-{i}", [f"user-{i}"]))
            for i in range(10)
        ]
        await asyncio.sleep(0)
        write.gate.set()
        return await asyncio.gather(*waits), write

    results, write = asyncio.run(scenario())
    assert results == [True] * 10
    assert write.batches == [("admins", {f"key-{i}": [f"user-{i}"] for i in range(10)})]


def test_changes_arriving_during_a_write_go_together_into_the_next():
    async def scenario() -> Recorder:
        write = Recorder()
        writer = GroupWriter(write)
        first = asyncio.create_task(writer.submit("admins", "a", ["alice"]))
        while not write.batches:  # the first write is in flight (held by the gate)
            await asyncio.sleep(0)
        later = [
            asyncio.create_task(writer.submit("admins", key, [key])) for key in ("b", "c", "d")
        ]
        await asyncio.sleep(0)
        write.gate.set()
        await asyncio.gather(first, *later)
        return write

    write = asyncio.run(scenario())
    assert [sorted(changes) for _, changes in write.batches] == [["a"], ["b", "c", "d"]]


def test_each_group_is_written_on_its_own():
    async def scenario() -> Recorder:
        write = Recorder()
        writer = GroupWriter(write)
        write.gate.set()
        await asyncio.gather(
            writer.submit("admins", "a", ["alice"]),
            writer.submit("users", "a", ["bob"]),
            writer.submit("admins", "b", None),
        )
        return write

    write = asyncio.run(scenario())
    assert sorted(write.batches) == [
        ("admins", {"a": ["alice"], "b": None}),
        ("users", {"a": ["bob"]}),
    ]


def test_an_instance_newest_change_replaces_its_pending_one():
    async def scenario() -> tuple[list[bool], Recorder]:
        write = Recorder()
        writer = GroupWriter(write)
        waits = [
            asyncio.create_task(writer.submit("admins", "a", ["alice"])),
            asyncio.create_task(writer.submit("admins", "a", ["alice", "bob"])),
        ]
        await asyncio.sleep(0)
        write.gate.set()
        return await asyncio.gather(*waits), write

    results, write = asyncio.run(scenario())
    assert write.batches == [("admins", {"a": ["alice", "bob"]})]
    assert results == [True, True]


def test_each_waiter_learns_whether_its_own_change_altered_the_group():
    async def scenario() -> list[bool]:
        write = Recorder()
        writer = GroupWriter(write)
        write.gate.set()
        return await asyncio.gather(
            writer.submit("admins", "a", ["alice"]),
            writer.submit("admins", "b", ["unchanged"]),
        )

    assert asyncio.run(scenario()) == [True, False]


def test_a_failed_write_fails_every_reconcile_it_carried_and_the_next_batch_still_runs():
    async def scenario() -> tuple[list[object], bool]:
        boom = RuntimeError("forbidden")
        write = Recorder(fail=boom)
        writer = GroupWriter(write)
        waits = [
            asyncio.create_task(writer.submit("admins", key, [key])) for key in ("a", "b", "c")
        ]
        await asyncio.sleep(0)
        write.gate.set()
        outcomes = await asyncio.gather(*waits, return_exceptions=True)
        write.fail = None
        after = await writer.submit("admins", "d", ["dave"])
        return outcomes, after

    outcomes, after = asyncio.run(scenario())
    assert [str(o) for o in outcomes] == ["forbidden"] * 3
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert after is True


def test_a_cancelled_reconcile_does_not_stop_the_others():
    async def scenario() -> bool:
        write = Recorder()
        writer = GroupWriter(write)
        gone = asyncio.create_task(writer.submit("admins", "a", ["alice"]))
        stays = asyncio.create_task(writer.submit("admins", "b", ["bob"]))
        await asyncio.sleep(0)
        gone.cancel()
        write.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await stays

    assert asyncio.run(scenario()) is True


def test_a_stopped_writer_leaves_no_reconcile_waiting():
    async def scenario() -> list[object]:
        write = Recorder()
        writer = GroupWriter(write)
        first = asyncio.create_task(writer.submit("admins", "a", ["alice"]))
        while not write.batches:
            await asyncio.sleep(0)
        queued = asyncio.create_task(writer.submit("admins", "b", ["bob"]))
        await asyncio.sleep(0)
        for task in asyncio.all_tasks():
            if task.get_name() == "group admins":
                task.cancel()
        return await asyncio.gather(first, queued, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert [type(o) for o in outcomes] == [RuntimeError, RuntimeError]
