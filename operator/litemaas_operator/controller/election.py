"""Leader election: the part that reads and writes the Lease (``leader`` decides).

``Election.campaign()`` returns once this process holds the Lease; ``keep()`` renews it and
returns when leadership is lost (a renewal could not be stored before the renew deadline);
``release()`` hands it over on a clean shutdown. The Lease goes through a client of its own, so
renewals never queue behind reconciles for a connection, and that client is not gated on
leadership (the reconciler's is: ``Kube(..., may_write=...)``).

A process that loses leadership does not try to carry on as a standby: it exits (``Watchdog``),
as controller-runtime's managers do, and Kubernetes restarts it as a fresh candidate. Exiting
is the one stop that no task, thread or request queued in Kopf can outlive. The watchdog is a
thread, so a busy or blocked event loop cannot delay it past the deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from .kube import ApiError, Kube
from .leader import Elector, Record, lease_object

log = logging.getLogger(__name__)
LOST_EXIT_CODE = 1


class Election:
    """One candidate for the Lease ``namespace/name``."""

    def __init__(
        self,
        kube: Kube,
        name: str,
        namespace: str,
        elector: Elector,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.name = name
        self.namespace = namespace
        self.elector = elector
        self.clock = clock

    @property
    def where(self) -> str:
        """E.g. ``lease litemaas-operator/litemaas-operator-leader``."""
        return f"lease {self.namespace}/{self.name}"

    def leading(self) -> bool:
        """Whether this process may write right now (the reconciler's write gate)."""
        return self.elector.leading(self.clock())

    async def campaign(self) -> None:
        """Retry until this process holds the Lease."""
        log.info("waiting to lead: %s as %s", self.where, self.elector.identity)
        held_by = None
        while not await self._attempt(self.elector.timings.renew_deadline):
            holder = self.elector.observed.holder if self.elector.observed else None
            if holder != held_by:
                log.info("%s is held by %s", self.where, holder or "nobody")
                held_by = holder
            await asyncio.sleep(self.elector.next_try(self.clock()))
        log.info("leading: acquired %s as %s", self.where, self.elector.identity)

    async def keep(self) -> None:
        """Renew every retry period; return once the renew deadline passed without renewal."""
        timings = self.elector.timings
        while True:
            await asyncio.sleep(timings.retry_period)
            remaining = self.elector.valid_until - self.clock()
            if remaining <= 0:
                return
            await self._attempt(remaining)
            if not self.leading():
                return

    async def release(self) -> None:
        """Give the Lease up so that a standby takes over at once (clean shutdown only)."""
        record = self.elector.release(datetime.now(UTC))
        if record is None:
            return
        try:
            lease = await self.kube.get("Lease", self.name, self.namespace)
            if lease is None or Record.from_lease(lease).holder != self.elector.identity:
                return
            await self.kube.replace({**lease, "spec": record.spec()})
            self.elector.released()
            log.info("released %s", self.where)
        except Exception as err:  # the standby then waits for the Lease to expire
            log.warning("could not release %s: %s", self.where, err)

    async def _attempt(self, timeout: float) -> bool:
        """One try to take or renew the Lease, bounded by ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self._take_or_renew(), timeout=max(timeout, 0.1))
        except asyncio.CancelledError:
            raise
        except ApiError as err:
            # 409: someone wrote the Lease since we read it; they won this round.
            level = logging.DEBUG if err.conflict else logging.WARNING
            log.log(level, "could not take or renew %s: %s", self.where, err)
        except Exception as err:  # API server unreachable, timed out: try again
            log.warning("could not take or renew %s: %s: %s", self.where, type(err).__name__, err)
        return False

    async def _take_or_renew(self) -> bool:
        """client-go's tryAcquireOrRenew: read, decide, write guarded by resourceVersion."""
        lease = await self.kube.get("Lease", self.name, self.namespace)
        if lease is not None:
            self.elector.observe(Record.from_lease(lease), self.clock())
        record = self.elector.desired(datetime.now(UTC), self.clock())
        if record is None:
            return False
        sent = self.clock()
        if lease is None:
            stored = await self.kube.create(lease_object(self.name, self.namespace, record))
        else:
            stored = await self.kube.replace({**lease, "spec": record.spec()})
        self.elector.succeeded(Record.from_lease(stored), sent, self.clock())
        return True


class Watchdog(threading.Thread):
    """Ends the process the moment leadership lapses, whatever the event loop is doing."""

    def __init__(self, election: Election) -> None:
        super().__init__(name="leader-election watchdog", daemon=True)
        self.election = election
        self.stopping = threading.Event()

    def run(self) -> None:
        """Sleep until the current deadline; exit if it passed without a renewal."""
        while not self.stopping.is_set():
            remaining = self.election.elector.valid_until - self.election.clock()
            if remaining <= 0:
                lost(self.election)
            self.stopping.wait(min(remaining, 1.0))

    def stop(self) -> None:
        """A clean shutdown: the process is about to release the Lease and exit on its own."""
        self.stopping.set()


def lost(election: Election) -> None:
    """Leadership is gone: stop every writer now by ending the process."""
    log.error(
        "leadership lost: %s was not renewed within %.0fs; exiting so that no write follows",
        election.where,
        election.elector.timings.renew_deadline,
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(LOST_EXIT_CODE)
