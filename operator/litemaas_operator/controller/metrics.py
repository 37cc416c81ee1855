"""Prometheus metrics of the operator.

Process-wide: reconciles by result, their durations, applies by kind, instance counts. Per
LiteMaaS resource, labelled ``namespace`` and ``name``: what the alerts and the dashboard of
``litemaas_operator.monitoring`` read (Ready, Stalled and its reason, phase, version, reconcile
times and errors, backup times, the PostgreSQL claim). The per-resource series come from a
collector over the last state seen of each resource this process reconciles: they appear on a
resource's first reconcile and go when its loop ends (the resource was deleted), so their
number is bounded by the number of resources, and a label value that changes (phase, reason,
version) replaces its series rather than adding one.

Every value comes from the resource's status and spec as the reconciler computed them, and
the loop's own clock: the metrics say what ``kubectl get lmaas -o yaml`` says.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..api import cron
from ..facts import Instance
from ..render.names import Names

RECONCILES = Counter(
    "litemaas_operator_reconciles", "Reconciles of LiteMaaS resources, by result", ["result"]
)
# What started each reconcile: "change" (the CR appeared or changed, a child or a referenced
# Secret changed, a pod got stuck), "requeue" (something was due: a backup, a deadline),
# "retry" (after a failure) or "resync" (the periodic safety net, --resync-seconds).
RECONCILE_CAUSES = Counter(
    "litemaas_operator_reconcile_causes",
    "Reconciles of LiteMaaS resources, by what started them",
    ["cause"],
)
# A status-only change of a child (a workload became ready, a pod got stuck) is observed: the
# status is worked out again from the cache, and nothing is rendered or applied.
OBSERVATIONS = Counter(
    "litemaas_operator_observations",
    "Observe-only passes of LiteMaaS resources (status news of a child, nothing to apply)",
)
# Children's watch events that woke (or would have woken) a reconcile, by kind and by what
# changed: "object" (spec, data, metadata, or its status where actions read it) or "status".
WATCH_WAKES = Counter(
    "litemaas_operator_watch_wakes",
    "Changes of children seen by the watches that wake a reconcile or an observe-only pass",
    ["kind", "change"],
)
RECONCILE_SECONDS = Histogram(
    "litemaas_operator_reconcile_duration_seconds",
    "Time one reconcile takes",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
APPLIES = Counter("litemaas_operator_applies", "Server-side applies of children, by kind", ["kind"])
INSTANCES = Gauge("litemaas_operator_instances", "LiteMaaS resources this process reconciles")
READY = Gauge("litemaas_operator_ready_instances", "LiteMaaS resources whose Ready is True")
LEADER = Gauge(
    "litemaas_operator_leader",
    "1 while this process reconciles: it holds the leader Lease, or runs without election",
)

PHASES = ("Progressing", "Ready", "Degraded", "Stalled")
Key = tuple[str, str]  # (namespace, name)
# How many firings of a backup schedule are looked at for its longest gap (a weekday schedule
# has a weekend gap: the alert's "twice the schedule" is twice the longest gap).
SCHEDULE_SAMPLES = 16


def _time(text: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp as the API server writes it."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def schedule_interval(expression: str | None, now: datetime | None = None) -> float | None:
    """The longest gap, in seconds, between consecutive firings of a cron schedule."""
    if not expression:
        return None
    day = (now or datetime.now(UTC)).astimezone(UTC).date()
    return _interval(expression, day)


@functools.lru_cache(maxsize=256)
def _interval(expression: str, day: date) -> float | None:
    try:
        schedule = cron.parse(expression)
    except ValueError:
        return None
    when = datetime(day.year, day.month, day.day, tzinfo=UTC)
    longest = timedelta(0)
    previous = schedule.next_after(when)
    for _ in range(SCHEDULE_SAMPLES):
        following = schedule.next_after(previous)
        longest = max(longest, following - previous)
        previous = following
    return longest.total_seconds()


@dataclass(frozen=True)
class Observed:
    """What one resource's status and spec say, as the per-resource metrics expose it."""

    phase: str | None = None
    ready: bool = False
    stalled: bool = False
    stalled_reason: str = ""
    version: str | None = None
    created: float | None = None
    backup_success: float | None = None
    backup_failure: float | None = None
    backup_interval: float | None = None
    database_claim: str | None = None


def observed(body: Mapping[str, Any], status: Mapping[str, Any]) -> Observed:
    """The metrics' view of a resource (``body``: metadata and spec) with ``status``. Pure."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    stalled = conditions.get("Stalled") or {}
    backup = status.get("backup") or {}
    database = spec.get("database") or {}
    embedded = database.get("mode", "embedded") == "embedded"
    schedule = (spec.get("backup") or {}).get("schedule") if embedded else None
    claim = None
    if embedded and meta.get("name") and meta.get("namespace"):
        claim = Names(Instance(meta["name"], meta["namespace"])).postgres_pvc
    return Observed(
        phase=status.get("phase"),
        ready=(conditions.get("Ready") or {}).get("status") == "True",
        stalled=stalled.get("status") == "True",
        stalled_reason=str(stalled.get("reason") or "") if stalled.get("status") == "True" else "",
        version=status.get("version"),
        created=_time(meta.get("creationTimestamp")),
        backup_success=_time((backup.get("lastSuccessful") or {}).get("time")),
        backup_failure=_time((backup.get("lastFailed") or {}).get("time")),
        backup_interval=schedule_interval(schedule),
        database_claim=claim,
    )


@dataclass
class InstanceState:
    """The latest of one resource: its observation and the loop's own times."""

    observed: Observed = field(default_factory=Observed)
    last_reconcile: float | None = None
    last_success: float | None = None
    next_reconcile: float | None = None
    errors: int = 0


class InstanceMetrics(Collector):
    """Per-resource series, from the latest state of each resource; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[Key, InstanceState] = {}

    def _state(self, key: Key) -> InstanceState:
        return self._states.setdefault(key, InstanceState())

    def observe(self, body: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        """Record the status the reconciler computed for ``body`` (written or unchanged)."""
        meta = body.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        seen = observed(body, status)
        with self._lock:
            self._state(key).observed = seen

    def reconciled(self, key: Key, ok: bool, next_in: float, now: float | None = None) -> None:
        """One reconcile ended (``ok``: without an error); the next is due in ``next_in`` s."""
        now = time.time() if now is None else now
        with self._lock:
            state = self._state(key)
            state.last_reconcile = now
            state.next_reconcile = now + next_in
            if ok:
                state.last_success = now
            else:
                state.errors += 1

    def forget(self, key: Key) -> None:
        """The resource is gone (or no longer this process's): its series go with it."""
        with self._lock:
            self._states.pop(key, None)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            states = {k: replace(v) for k, v in self._states.items()}
        yield from families(states)


def families(states: Mapping[Key, InstanceState]) -> Iterator[Metric]:
    """The per-resource metric families of ``states``."""
    ns_name = ["namespace", "name"]

    def gauge(name: str, doc: str, extra: list[str] | None = None) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"litemaas_operator_{name}", doc, labels=ns_name + (extra or []))

    ready = gauge("instance_ready", "1 when the resource's Ready condition is True")
    stalled = gauge(
        "instance_stalled",
        "1 when the resource's Stalled condition is True, with its reason",
        ["reason"],
    )
    phase = gauge("instance_phase", "1 for the resource's current status.phase", ["phase"])
    info = gauge(
        "instance_info", "The LiteMaaS version running everywhere (status.version)", ["version"]
    )
    created = gauge("instance_created_timestamp_seconds", "metadata.creationTimestamp")
    last = gauge("instance_last_reconcile_timestamp_seconds", "When the last reconcile ended")
    success = gauge(
        "instance_last_successful_reconcile_timestamp_seconds",
        "When the last reconcile without an error ended",
    )
    due = gauge(
        "instance_next_reconcile_timestamp_seconds",
        "When the next reconcile is due at the latest (resync, requeue or backoff)",
    )
    errors = CounterMetricFamily(
        "litemaas_operator_instance_reconcile_errors",
        "Reconciles of the resource that ended in an error",
        labels=ns_name,
    )
    b_success = gauge("backup_last_success_timestamp_seconds", "status.backup.lastSuccessful.time")
    b_failure = gauge("backup_last_failure_timestamp_seconds", "status.backup.lastFailed.time")
    b_interval = gauge(
        "backup_schedule_interval_seconds",
        "Longest gap between two firings of spec.backup.schedule (scheduled instances only)",
    )
    volume = gauge(
        "instance_volume_info",
        "The PostgreSQL claim of an embedded database (join with kubelet_volume_stats_*)",
        ["persistentvolumeclaim", "volume"],
    )
    for (namespace, name), state in sorted(states.items()):
        labels = [namespace, name]
        obs = state.observed
        ready.add_metric(labels, 1.0 if obs.ready else 0.0)
        stalled.add_metric([*labels, obs.stalled_reason], 1.0 if obs.stalled else 0.0)
        for value in PHASES:
            phase.add_metric([*labels, value], 1.0 if obs.phase == value else 0.0)
        if obs.version:
            info.add_metric([*labels, obs.version], 1.0)
        for family, value in (
            (created, obs.created),
            (last, state.last_reconcile),
            (success, state.last_success),
            (due, state.next_reconcile),
            (b_success, obs.backup_success),
            (b_failure, obs.backup_failure),
            (b_interval, obs.backup_interval),
        ):
            if value is not None:
                family.add_metric(labels, value)
        errors.add_metric(labels, float(state.errors))
        if obs.database_claim:
            volume.add_metric([*labels, obs.database_claim, "database"], 1.0)
    yield from (ready, stalled, phase, info, created, last, success, due, errors)
    yield from (b_success, b_failure, b_interval, volume)


INSTANCE_METRICS = InstanceMetrics()
DEFAULT_REGISTRY.register(INSTANCE_METRICS)
