"""Leader election on a ``coordination.k8s.io/v1`` Lease: the pure state machine.

The semantics are client-go's ``leaderelection`` package (what controller-runtime and every
kube-* component use), so an operator built on them behaves as cluster admins expect:

- A candidate takes the Lease when nobody holds it, when its holder released it (empty
  ``holderIdentity``), or when the record has not changed for ``lease_duration`` as measured on
  the candidate's *own* clock from when it first saw that record (no clock is compared across
  machines; only ``renewTime`` changing matters).
- The leader renews every ``retry_period``. It stays leader only while its last successful
  renewal is younger than ``renew_deadline``; past that it must have stopped writing. Since
  ``renew_deadline < lease_duration``, the leader stops before any candidate may take over.
- Every write of the Lease carries the ``resourceVersion`` read, so two candidates racing for
  it cannot both win.
- A leader that shuts down cleanly releases the Lease (empty holder), and a candidate takes it
  at its next retry instead of waiting for the Lease to expire.

One deliberate difference: the renew deadline is counted from when the successful renewal was
*sent* (client-go counts from the start of the renew round), which is never later than when
the API server stored it, so the margin holds even when the answer is slow to come back.

Nothing here does I/O: ``election`` reads and writes the Lease and feeds the results in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

LEASE_API_VERSION = "coordination.k8s.io/v1"
# Retries spread over [retry, retry * 1.5): client-go's factor is 1.2 (up to 2.2 x), which lets
# a standby notice the last renewal up to 4.4 s late and take over up to 24 s after a leader
# died; with 0.5 it is noticed at most 3 s late. Safety does not depend on the jitter.
JITTER = 0.5


@dataclass(frozen=True)
class Timings:
    """client-go's three durations, in seconds (controller-runtime's defaults)."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def check(self) -> None:
        """Refuse settings under which two leaders could overlap (client-go's checks)."""
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("the lease duration must be longer than the renew deadline")
        if self.renew_deadline <= 1.2 * self.retry_period:
            raise ValueError("the renew deadline must exceed 1.2 x the retry period")
        if self.retry_period <= 0:
            raise ValueError("the retry period must be positive")

    def retry_delay(self) -> float:
        """The wait before the next attempt, jittered so candidates do not retry in lockstep."""
        return self.retry_period * (1 + random.uniform(0, JITTER))


@dataclass(frozen=True)
class Record:
    """What a Lease's spec says about its holder."""

    holder: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0

    @classmethod
    def from_lease(cls, lease: dict[str, Any]) -> Record:
        """Read a Lease object's spec."""
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=int(spec.get("leaseTransitions") or 0),
        )

    def spec(self) -> dict[str, Any]:
        """The Lease spec that records this."""
        return {
            "holderIdentity": self.holder or None,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


def micro_time(when: datetime) -> str:
    """A Lease's MicroTime, as the API server writes it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_object(name: str, namespace: str, record: Record) -> dict[str, Any]:
    """A new Lease holding ``record``."""
    return {
        "apiVersion": LEASE_API_VERSION,
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": record.spec(),
    }


@dataclass
class Elector:
    """One candidate's view of the Lease and of its own leadership.

    ``now`` is always a monotonic clock reading (seconds); ``wall`` is the wall-clock time
    written into the record for people and tools to read, never used for decisions.
    """

    identity: str
    timings: Timings = Timings()
    observed: Record | None = None
    observed_at: float = 0.0  # when this process first saw ``observed`` (monotonic)
    valid_until: float = 0.0  # leading while now < valid_until (monotonic)

    def observe(self, record: Record, now: float) -> None:
        """The Lease as just read; a changed record restarts the expiry clock."""
        if record != self.observed:
            self.observed, self.observed_at = record, now

    def held_by_other(self, now: float) -> bool:
        """Whether someone else holds the Lease and it has not expired (by our clock)."""
        record = self.observed
        return (
            record is not None
            and bool(record.holder)
            and record.holder != self.identity
            and now < self.observed_at + self.timings.lease_duration
        )

    def next_try(self, now: float) -> float:
        """Seconds until a candidate should try again: a jittered retry period, or sooner when
        the Lease it waits for expires sooner (the standby then takes it the moment it may)."""
        delay = self.timings.retry_delay()
        if self.held_by_other(now):
            delay = min(delay, self.observed_at + self.timings.lease_duration - now + 0.05)
        return max(delay, 0.05)

    def desired(self, wall: datetime, now: float) -> Record | None:
        """The record to write to take or keep the Lease; None: wait, someone else leads."""
        if self.held_by_other(now):
            return None
        stamp = micro_time(wall)
        duration = int(self.timings.lease_duration)
        old = self.observed
        if old is None:  # no Lease yet: create it
            return Record(self.identity, duration, stamp, stamp, 0)
        if old.holder == self.identity:  # renewing: the acquisition stays as it was
            return replace(old, lease_duration_seconds=duration, renew_time=stamp)
        return Record(self.identity, duration, stamp, stamp, old.transitions + 1)

    def succeeded(self, record: Record, sent_at: float, now: float) -> None:
        """The write of ``record``, sent at ``sent_at``, was stored: lead until the deadline."""
        self.observe(record, now)
        self.valid_until = sent_at + self.timings.renew_deadline

    def leading(self, now: float) -> bool:
        """Whether this process may write now."""
        return now < self.valid_until

    def release(self, wall: datetime) -> Record | None:
        """The record that hands the Lease over (client-go's ReleaseOnCancel), or None when
        this process does not hold it: an empty holder and a one-second duration."""
        if self.observed is None or self.observed.holder != self.identity:
            return None
        stamp = micro_time(wall)
        return Record("", 1, stamp, stamp, self.observed.transitions)

    def released(self) -> None:
        """The release was stored: stop leading at once."""
        self.valid_until = 0.0
