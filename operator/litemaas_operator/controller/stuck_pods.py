"""The thin part of :mod:`.stuck`: read the pods of a not-ready instance and say why they are stuck.

One pod LIST (label selector of the instance) per reconcile, and only while some workload
component is not ready: a steady state adds no request. A StorageClass is read only for a
claim that is Pending. Pods are not watched (the operator may only get and list them), so while
a component is starting the reconcile comes back every ``POLL_SECONDS`` to see whether its
pods got stuck, and at the deadline to turn a stuck component ``Stalled``; never once it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..facts import Instance
from ..render.names import Names, instance_selector
from .conditions import ComponentState
from .kube import ApiError, Kube
from .logs import redact
from .stuck import DEFAULT_DEADLINE_SECONDS, claim_names, diagnose, selects, unready_since

log = logging.getLogger(__name__)
POLL_SECONDS = 10.0

Live = Mapping[tuple[str, str], dict[str, Any]]


@dataclass
class Stuck:
    """Component states with the pods' reasons folded in, and when to look again."""

    components: dict[str, ComponentState]
    requeue_after: float | None = None

    def sooner(self, other: float | None) -> float | None:
        """The earlier of this and another requeue delay (None: no opinion)."""
        return _sooner(self.requeue_after, other)


def workloads(names: Names) -> dict[str, tuple[str, str]]:
    """Component key -> (kind, name) of its workload."""
    return {
        "database": ("StatefulSet", names.postgres),
        "redis": ("Deployment", names.redis),
        "litellm": ("Deployment", names.litellm),
        "backend": ("Deployment", names.backend),
        "frontend": ("Deployment", names.frontend),
    }


def _sooner(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def settling(
    workload: Mapping[str, Any], pods: list[dict[str, Any]], now: datetime, deadline: float
) -> bool:
    """Whether a not-ready workload without a diagnosis may still get one by waiting.

    True while it has no pod yet or one younger than the deadline; after that only an event or
    the resync brings it back (polling forever would cost a LIST per interval per instance).
    """
    mine = [p for p in pods if selects(workload, p)]
    return not mine or any(
        (since := unready_since(p)) is None or (now - since).total_seconds() < deadline
        for p in mine
    )


async def storage_classes(
    kube: Kube, claims: list[dict[str, Any]], pods: list[dict[str, Any]]
) -> dict[str, dict[str, Any] | None]:
    """The StorageClasses of the Pending claims the pods mount (None: it does not exist)."""
    wanted = {name for pod in pods for name in claim_names(pod)}
    names = {
        cls
        for c in claims
        if c["metadata"]["name"] in wanted
        and (c.get("status") or {}).get("phase") == "Pending"
        and (cls := (c.get("spec") or {}).get("storageClassName"))
    }
    out: dict[str, dict[str, Any] | None] = {}
    for name in sorted(names):
        try:
            out[name] = await kube.get("StorageClass", name)
        except ApiError as err:  # e.g. 403: judged by the claim alone
            log.info("cannot read StorageClass %s: %s", name, err.message)
    return out


async def explain_stuck(
    kube: Kube,
    instance: Instance,
    live: Live,
    components: dict[str, ComponentState],
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    now: datetime | None = None,
) -> Stuck:
    """``components`` with each not-ready workload's reason and message taken from its pods."""
    waiting = {
        key: obj
        for key, ref in workloads(Names(instance)).items()
        if (state := components.get(key)) is not None
        and not state.ready
        and (obj := live.get(ref)) is not None
    }
    if not waiting:
        return Stuck(components)
    try:
        pods = await kube.list("Pod", instance.namespace, instance_selector(instance))
    except ApiError as err:
        if err.status != 403:
            raise
        # An install whose RBAC predates the pod rule: the status stays terse, nothing fails.
        log.info("cannot list the pods of %s: %s", instance.name, err.message)
        return Stuck(components)
    claims = [obj for (kind, _), obj in live.items() if kind == "PersistentVolumeClaim"]
    classes = await storage_classes(kube, claims, pods)
    pods_watched = kube.cache is not None and kube.cache.watching("Pod", instance.namespace)
    now = now or datetime.now(UTC)
    out, requeue = dict(components), None
    for key, workload in waiting.items():
        state = out[key]
        found = diagnose(
            workload,
            pods,
            claims,
            now=now,
            field=f"spec.{key}",
            storage_classes=classes,
            deadline_seconds=deadline_seconds,
            redact=redact,
        )
        if found is None:
            # Looked at again soon, in case a pod gets stuck, unless the pod watch will say so.
            if (
                not pods_watched
                and not state.failed
                and settling(workload, pods, now, deadline_seconds)
            ):
                requeue = _sooner(requeue, POLL_SECONDS)
            continue
        failed = found.failed or state.failed
        out[key] = replace(state, reason=found.reason, message=found.message, failed=failed)
        if not failed:
            # Just past the deadline (a second late rather than early), else the next look.
            due = found.check_again_in
            requeue = _sooner(requeue, POLL_SECONDS if due is None else min(POLL_SECONDS, due + 1))
    return Stuck(out, requeue)
