"""Kopf handlers: one reconcile loop per CR, the CR watch that wakes it, and the finalizer.

Each CR gets a daemon that reconciles, then sleeps until something relevant happens (its spec,
one of its children, a Secret it reads) or the resync period passes. This is the level-triggered
loop of controller-runtime, built from Kopf's parts: watches only *poke*; all work happens in
the loop, so bursts of events coalesce into one reconcile. Children and referenced Secrets are
watched by ``watches`` (server-side label selectors, which Kopf cannot send), not by Kopf.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable
from typing import Any

import kopf

from ..api import GROUP, PLURAL, VERSION
from . import backup_watch, metrics
from .cleanup import cleanup
from .election import Election, Watchdog
from .failures import REASON as FAILURE_REASON
from .failures import failure_status, is_transition
from .kube import ApiError, Kube
from .reconcile import Outcome, Reconciler
from .registry import REGISTRY
from .watches import Watches

log = logging.getLogger(__name__)
WATCHES = (backup_watch,)  # imported for its Kopf handlers on LiteMaaSBackup and LiteMaaSRestore
FINALIZER = "litemaas.io/finalizer"
DEBOUNCE_SECONDS = 0.3
MAX_BACKOFF_SECONDS = 60.0
CLEANUP_RETRIES = 8


class Runtime:
    """The process-wide client and reconciler, created at start-up."""

    kube: Kube | None = None
    reconciler: Reconciler | None = None
    watches: Watches | None = None
    resync_seconds: float = 300.0
    # Like controller-runtime's MaxConcurrentReconciles: a burst of 100 CRs reconciles a few at
    # a time instead of holding 100 sets of listed children in memory at once.
    slots: asyncio.Semaphore | None = None
    # Leader election (None without it): every write, ours and Kopf's, asks ``may_write`` first.
    election: Election | None = None
    may_write: Callable[[], bool] | None = None
    watchdog: Watchdog | None = None
    renewal: asyncio.Task[None] | None = None
    trimming: asyncio.Task[None] | None = None  # memory.trim_forever


RUNTIME = Runtime()


async def _wait(
    trigger: asyncio.Event, stopped: Any, timeout: float, *, wake_on_trigger: bool = True
) -> bool:
    """Sleep until poked, stopped, or ``timeout`` seconds pass; whether it was poked.

    Kopf's ``stopped.wait()`` promise must not be raced and cancelled (its inner waiter is not
    cancelled with it, and awaiting it then blocks forever), so the stop flag is polled each
    second while the trigger is awaited.
    """
    deadline = time.monotonic() + timeout
    while not stopped and not (wake_on_trigger and trigger.is_set()):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        step = min(remaining, 1.0)
        with contextlib.suppress(TimeoutError):
            if wake_on_trigger:
                await asyncio.wait_for(trigger.wait(), timeout=step)
            else:
                await asyncio.sleep(step)
    return wake_on_trigger and trigger.is_set()


def _cause(poked: bool, failed: bool, delay: float) -> str:
    """What starts the next reconcile (metrics.RECONCILE_CAUSES)."""
    if poked:
        return "change"
    if failed:
        return "retry"
    return "requeue" if delay < RUNTIME.resync_seconds else "resync"


# The loop notices the stop flag within a second; a reconcile in flight gets 5 s to finish
# before it is cancelled.
@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_backoff=5.0, cancellation_timeout=10.0)
async def reconcile_loop(
    body: kopf.Body, name: str, namespace: str, stopped: Any, logger: logging.Logger, **_: Any
) -> None:
    """Reconcile one CR for as long as it exists."""
    key = (namespace, name)
    trigger = REGISTRY.trigger(key)
    metrics.INSTANCES.inc()
    backoff = 1.0
    failures = 0
    was_ready = False
    cause = "change"  # the first: the CR appeared, or this process started
    try:
        while not stopped:
            delay = RUNTIME.resync_seconds
            failed = False
            try:
                assert RUNTIME.reconciler is not None and RUNTIME.slots is not None
                async with RUNTIME.slots:
                    # Cleared once a slot is ours: events that came while queueing for it are
                    # covered by this reconcile and must not cause another.
                    trigger.clear()
                    # Only a child's status changed, or the pods are due to be looked at again:
                    # observing may be enough (acted.Acted.observable: not if work is due).
                    whole = REGISTRY.take(key) or cause not in ("change", "requeue")
                    outcome = await _one_pass(RUNTIME.reconciler, body, whole, cause)
                if outcome.applied or outcome.pruned:
                    logger.info(
                        "reconciled: applied %s; pruned %s%s",
                        ", ".join(outcome.applied) or "nothing",
                        ", ".join(outcome.pruned) or "nothing",
                        "; ready" if outcome.ready else "",
                    )
                if outcome.ready != was_ready:
                    metrics.READY.inc() if outcome.ready else metrics.READY.dec()
                    was_ready = outcome.ready
                backoff, failures = 1.0, 0
                # Something is due before the resync (stuck pods re-read, a scheduled backup).
                if outcome.requeue_after is not None:
                    delay = min(delay, outcome.requeue_after)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the loop must outlive API outages and bugs alike
                if isinstance(err, ApiError) and err.not_found and await _gone(body):
                    logger.info("resource is gone; its reconcile loop ends")
                    return
                metrics.RECONCILES.labels(result="error").inc()
                # What the last whole reconcile found may no longer hold: the next one is whole.
                if RUNTIME.reconciler is not None:
                    RUNTIME.reconciler.forget(key)
                logger.warning("reconcile failed (retrying in %.0fs): %s", backoff, _describe(err))
                failures += 1
                await _report_failure(body, err, failures, logger)
                delay, backoff = backoff, min(backoff * 2, MAX_BACKOFF_SECONDS)
                failed = True
            metrics.INSTANCE_METRICS.reconciled(key, not failed, delay)
            # After a failure the backoff is served in full: child events must not turn a
            # failing CR into a hot loop.
            poked = await _wait(trigger, stopped, delay, wake_on_trigger=not failed)
            await asyncio.sleep(DEBOUNCE_SECONDS)  # coalesce a burst of child events
            cause = _cause(poked, failed, delay)
    finally:
        metrics.INSTANCES.dec()
        metrics.INSTANCE_METRICS.forget(key)
        if RUNTIME.reconciler is not None:
            RUNTIME.reconciler.forget(key)
        if was_ready:
            metrics.READY.dec()


async def _one_pass(reconciler: Reconciler, body: kopf.Body, whole: bool, cause: str) -> Outcome:
    """One pass over a snapshot of the CR: observe-only when ``whole`` is not asked for and that
    is sound (``Reconciler.observe``), else a whole reconcile.

    The snapshot lives only as long as this call: held by the loop while it sleeps, 500 CRs'
    copies would cost some 8 MiB for nothing.
    """
    snapshot = copy.deepcopy(dict(body))
    outcome = None if whole else await reconciler.observe(snapshot)
    if outcome is not None:
        metrics.OBSERVATIONS.inc()
        return outcome
    metrics.RECONCILE_CAUSES.labels(cause=cause).inc()
    outcome = await reconciler.reconcile(snapshot)
    metrics.RECONCILES.labels(result="success").inc()
    return outcome


async def _report_failure(
    body: kopf.Body, err: Exception, failures: int, logger: logging.Logger
) -> None:
    """Show a failed reconcile on the CR's status (and, at transitions, as an Event)."""
    assert RUNTIME.reconciler is not None
    snapshot = copy.deepcopy(dict(body))
    generation = int(snapshot["metadata"].get("generation") or 0)
    status = failure_status(snapshot.get("status"), generation, _describe(err), failures)
    try:
        await RUNTIME.reconciler.write_status(snapshot, status)
    except Exception as write_err:  # e.g. the API server is down: the log has to do
        logger.warning("could not report the failure on the status: %s", _describe(write_err))
    if is_transition(failures):
        message = next(c for c in status["conditions"] if c["type"] == "Ready")["message"]
        kopf.warn(body, reason=FAILURE_REASON, message=message)


async def _gone(body: kopf.Body) -> bool:
    """``_abandoned``, but an error while checking or cleaning up means "not yet"."""
    try:
        return await _abandoned(body)
    except Exception as err:
        log.warning("could not check whether the resource is gone: %s", _describe(err))
        return False


async def _abandoned(body: kopf.Body) -> bool:
    """Whether this loop's CR no longer exists (or was replaced by a namesake).

    A CR deleted before Kopf put its finalizer on it never reaches ``finalize``, and Kopf
    does not stop its daemon: the loop would keep applying children (which garbage
    collection then deletes, which wakes the loop again) and group members for a CR that is
    gone. When it is gone for good, the loop does the finalizer's cleanup itself.
    """
    assert RUNTIME.kube is not None
    meta = body["metadata"]
    live = await RUNTIME.kube.get("LiteMaaS", meta["name"], meta["namespace"])
    if live is not None and live["metadata"].get("uid") == meta.get("uid"):
        return False
    if live is None:  # otherwise a namesake owns the trigger and the cluster-scoped objects
        await cleanup(RUNTIME.kube, copy.deepcopy(dict(body)))
        REGISTRY.forget((meta["namespace"], meta["name"]))
    return True


def _describe(err: Exception) -> str:
    if isinstance(err, ApiError):
        return f"API {err.status} {err.reason}: {err.message}"
    return f"{type(err).__name__}: {err}"


# Watch handlers are coroutines on purpose: Kopf runs plain functions in a thread pool, and
# asyncio.Event.set() from another thread does not reliably wake the loop waiting on it.
@kopf.on.event(GROUP, VERSION, PLURAL)
async def cr_changed(namespace: str, name: str, body: kopf.Body, **_: Any) -> None:
    """A CR changed (spec, metadata; not only its status, our own output): wake its loop."""
    if REGISTRY.cr_changed((namespace, name), dict(body.get("metadata") or {})):
        REGISTRY.poke((namespace, name))


@kopf.on.delete(GROUP, VERSION, PLURAL, retries=CLEANUP_RETRIES, backoff=2.0)
async def finalize(
    body: kopf.Body, name: str, namespace: str, retry: int, logger: logging.Logger, **_: Any
) -> None:
    """Remove cluster-scoped leftovers; never hold the CR forever."""
    assert RUNTIME.kube is not None
    try:
        done = await cleanup(RUNTIME.kube, copy.deepcopy(dict(body)))
    except Exception as err:
        if retry + 1 >= CLEANUP_RETRIES:
            logger.error(
                "cleanup gave up after %d tries, releasing the resource: %s",
                retry + 1,
                _describe(err),
            )
            REGISTRY.forget((namespace, name))
            return
        raise kopf.TemporaryError(f"cleanup failed: {_describe(err)}", delay=2.0) from err
    if done:
        logger.info("cleaned up %s", ", ".join(done))
    REGISTRY.forget((namespace, name))
