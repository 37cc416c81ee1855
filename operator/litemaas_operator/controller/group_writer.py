"""One writer per process for the shared Groups: many instances' changes, one write per Group.

Every instance contributes members to the same three Groups. Written by each reconcile on its
own, a hundred instances created at once meant a hundred read-merge-replace cycles of one object,
most of them losing a resourceVersion race and retrying. Here a reconcile submits its instance's
change for a Group and awaits it; the writer takes every change pending for that Group and
writes them in one go. While that write is in flight, new changes queue up for the next one,
so the writes per Group follow the batches of changes, not the instances.

The writer only queues and fans out the result; the write itself (read, merge, replace, retry
on conflict) is the function it is given (``groups.write_group``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Change = list[str] | None  # an instance's members of a Group; None withdraws them
# (group, {annotation key: change}) -> the keys whose change altered the Group
Write = Callable[[str, Mapping[str, Change]], Awaitable[set[str]]]


@dataclass
class _Pending:
    """One instance's latest change for a Group, and everyone awaiting it."""

    change: Change
    waiters: list[asyncio.Future[bool]] = field(default_factory=list)


class GroupWriter:
    """Coalesces the changes pending for each Group into one write at a time."""

    def __init__(self, write: Write, window: float = 0.0) -> None:
        self._write = write
        # How long a batch stays open after its first change: reconciles started together
        # reach their Groups a little apart, and this lets them share one write.
        self._window = window
        self._pending: dict[str, dict[str, _Pending]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}

    async def submit(self, group: str, key: str, change: Change) -> bool:
        """Set (None: withdraw) the members of ``key`` in ``group``; True if that changed it.

        Returns once a write that includes this change is done; its error, if any, is raised
        here (and in every other reconcile whose change it carried).
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        batch = self._pending.setdefault(group, {})
        pending = batch.setdefault(key, _Pending(change))
        pending.change = change  # an instance's newest wish replaces one not yet written
        pending.waiters.append(waiter)
        if group not in self._running:
            # The task starts on the loop's next turn: changes submitted meanwhile join it.
            self._running[group] = loop.create_task(self._drain(group), name=f"group {group}")
        return await waiter

    async def _drain(self, group: str) -> None:
        """Write the pending batches of ``group`` one after another until none is left."""
        batch: dict[str, _Pending] = {}
        try:
            while True:
                if self._window:
                    await asyncio.sleep(self._window)
                batch = self._pending.pop(group, {})
                if not batch:
                    break
                changes = {key: p.change for key, p in batch.items()}
                if len(changes) > 1:
                    log.debug("group %s: writing the changes of %d instances", group, len(changes))
                try:
                    changed = await self._write(group, changes)
                except Exception as err:
                    for p in batch.values():
                        _settle(p.waiters, error=err)
                else:
                    for key, p in batch.items():
                        _settle(p.waiters, result=key in changed)
                batch = {}
        finally:
            # Cancelled (shutdown): no waiter may hang, neither the batch in flight nor queued.
            left = [*batch.values(), *self._pending.pop(group, {}).values()]
            for p in left:
                _settle(p.waiters, error=RuntimeError(f"group {group}: writer stopped"))
            self._running.pop(group, None)


def _settle(
    waiters: list[asyncio.Future[bool]],
    *,
    result: bool = False,
    error: BaseException | None = None,
) -> None:
    for waiter in waiters:
        if waiter.done():  # its reconcile was cancelled meanwhile
            continue
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(result)
