"""What a platform team sees of each LiteMaaS resource besides its status: metrics, Events and
the ``Monitoring`` condition.

``status_computed`` runs on every status the reconciler computes (a reconcile, an invalid
spec, a failed reconcile), before it is written: the per-resource metrics follow it, and an
Event is posted for each transition a person wants in ``kubectl describe lmaas``. Transitions
are read from the status last written and the one computed now, never from process memory, so
a restarted operator announces nothing twice (an Event posted just before a kill, with its
status unwritten, is posted again: better than never).

Events posted elsewhere are not repeated here: ``Upgraded`` and each upgrade step
(controller/upgrades.py), the resize steps (controller/volumes.py), a failed backup or restore
(controller/backups.py), and ``ReconcileFailed`` (handlers.py). Messages are built from
condition reasons and messages (which never hold a secret value) and still pass ``redact``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..api.spec import DEFAULT_VERSION, LiteMaaSSpec
from ..render import monitoring
from . import events, metrics
from .conditions import RESUMED, condition
from .failures import REASON as FAILURE_REASON
from .kube import Kube
from .logs import redact

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Announcement:
    """One Event to post about the resource."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def _conditions(status: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {c.get("type"): c for c in (status or {}).get("conditions") or []}


def transitions(
    previous: Mapping[str, Any] | None, status: Mapping[str, Any], spec_version: str | None
) -> list[Announcement]:
    """The Events for going from ``previous`` (as last written) to ``status``. Pure.

    Created: the first status of a resource. Stalled: Stalled turns True, or its reason
    changes (not for ReconcileFailed, which handlers.py announces). Recovered: Ready again
    after Stalled, Degraded or a failed reconcile. BackupCompleted: a new
    ``status.backup.lastSuccessful``.
    """
    previous = previous or {}
    old, new = _conditions(previous), _conditions(status)
    out: list[Announcement] = []
    if not previous.get("phase") and not old:
        where = f" on {status['platform']}" if status.get("platform") else ""
        out.append(
            Announcement("Normal", "Created", f"deploying LiteMaaS {spec_version or ''}{where}")
        )
    stalled, was_stalled = new.get("Stalled") or {}, old.get("Stalled") or {}
    if (
        stalled.get("status") == "True"
        and stalled.get("reason") != FAILURE_REASON
        and (was_stalled.get("status") != "True" or was_stalled.get("reason") != stalled["reason"])
    ):
        text = f"{stalled.get('reason')}: {stalled.get('message') or ''}".rstrip(": ")
        out.append(Announcement("Warning", "Stalled", text))
    old_ready = old.get("Ready") or {}
    if status.get("phase") == "Ready" and previous.get("phase") != "Ready":
        was = _trouble(previous, old_ready, was_stalled)
        if was is not None:
            out.append(Announcement("Normal", "Recovered", f"Ready again after {was}"))
    done = ((status.get("backup") or {}).get("lastSuccessful")) or {}
    was_done = ((previous.get("backup") or {}).get("lastSuccessful")) or {}
    if done.get("name") and done.get("name") != was_done.get("name"):
        out.append(
            Announcement(
                "Normal",
                "BackupCompleted",
                f"backup {done['name']} completed at {done.get('time')}",
            )
        )
    return [Announcement(a.type, a.reason, redact(a.message)) for a in out]


def _trouble(
    previous: Mapping[str, Any], ready: Mapping[str, Any], stalled: Mapping[str, Any]
) -> str | None:
    """What a resource turning Ready recovers from, read from its last status; None: nothing.

    A stalled resource usually passes through Progressing on its way back (pods roll once the
    cause is fixed): its Stalled condition then reads ``Resumed`` until it is Ready.
    """
    if previous.get("phase") in ("Stalled", "Degraded"):
        return str(previous["phase"])
    if ready.get("reason") == FAILURE_REASON:
        return "failed reconciles"
    if stalled.get("reason") == RESUMED:
        return "Stalled"
    return None


async def status_computed(kube: Kube, body: Mapping[str, Any], status: Mapping[str, Any]) -> None:
    """Metrics and Events for a status about to be written (or found unchanged)."""
    metrics.INSTANCE_METRICS.observe(body, status)
    version = (body.get("spec") or {}).get("version") or DEFAULT_VERSION
    if "kind" not in body or not (body.get("metadata") or {}).get("uid"):
        return  # not a resource read from the API server: no Event can name it
    for event in transitions(body.get("status"), status, version):
        await events.post(kube, body, event.type, event.reason, event.message)


def report(
    status: dict[str, Any],
    spec: LiteMaaSSpec,
    served: set[str] | frozenset[str],
    previous: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``status`` with the Monitoring condition (none while ``spec.monitoring`` is off)."""
    state = monitoring.condition_state(spec, served)
    if state is None:
        return status
    ok, reason, message = state
    generation = int(status.get("observedGeneration") or 0)
    new = condition(monitoring.CONDITION, ok, reason, message, generation, _conditions(previous))
    return {**status, "conditions": [*status["conditions"], new]}
