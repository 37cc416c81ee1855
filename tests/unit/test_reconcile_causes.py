"""What the loop counts as the cause of each reconcile (metrics.RECONCILE_CAUSES)."""

from __future__ import annotations

import asyncio

from litemaas_operator.controller import handlers


def test_a_poke_a_failure_a_due_requeue_and_the_resync_are_told_apart() -> None:
    resync = handlers.RUNTIME.resync_seconds
    assert handlers._cause(poked=True, failed=False, delay=resync) == "change"
    assert handlers._cause(poked=False, failed=True, delay=2.0) == "retry"
    assert handlers._cause(poked=False, failed=False, delay=resync / 2) == "requeue"
    assert handlers._cause(poked=False, failed=False, delay=resync) == "resync"


def test_the_wait_says_whether_it_was_poked() -> None:
    async def run() -> tuple[bool, bool, bool]:
        trigger = asyncio.Event()
        timed_out = await handlers._wait(trigger, False, 0.05)
        asyncio.get_running_loop().call_later(0.01, trigger.set)
        poked = await handlers._wait(trigger, False, 5.0)
        # After a failure the backoff is served in full, a poke meanwhile notwithstanding.
        ignored = await handlers._wait(trigger, False, 0.05, wake_on_trigger=False)
        return timed_out, poked, ignored

    assert asyncio.run(run()) == (False, True, False)
