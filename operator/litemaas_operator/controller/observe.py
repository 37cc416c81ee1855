"""Read the live workloads of one instance into per-component states. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..api.spec import LiteMaaSSpec
from ..render.names import Names
from .conditions import ComponentState

Live = Mapping[tuple[str, str], dict[str, Any]]  # (kind, name) -> object


def workload_state(obj: dict[str, Any] | None, kind: str) -> ComponentState:
    """Readiness of a Deployment or StatefulSet, judged as ``kubectl rollout status`` does."""
    if obj is None:
        return ComponentState(False, "Pending", f"{kind} not created yet")
    name = obj["metadata"]["name"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas", ready) or 0)
    updated = int(status.get("updatedReplicas") or 0)
    current_gen = int(status.get("observedGeneration") or 0) >= int(
        obj["metadata"].get("generation") or 0
    )
    if (
        kind == "StatefulSet"
        and status.get("updateRevision")
        and status.get("currentRevision") != status.get("updateRevision")
    ):
        updated = min(updated, ready)
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return ComponentState(
                False,
                "ProgressDeadlineExceeded",
                f"{kind} {name}: {cond.get('message', 'rollout is stuck')}",
                want,
                ready,
                failed=True,
            )
    if want == 0:
        return ComponentState(True, "ScaledDown", f"{kind} {name} is scaled to 0", 0, 0)
    ok = current_gen and ready >= want and available >= want and updated >= want
    if ok:
        return ComponentState(True, "Ready", f"{kind} {name}: {ready}/{want} ready", want, ready)
    return ComponentState(False, "Progressing", f"{kind} {name}: {ready}/{want} ready", want, ready)


def observe(
    spec: LiteMaaSSpec,
    names: Names,
    live: Live,
    auth_ready: tuple[bool, str, str],
) -> dict[str, ComponentState]:
    """Component states of one instance from its live children."""
    states: dict[str, ComponentState] = {}
    if spec.database.mode == "external":
        states["database"] = ComponentState(True, "External", "using the external database")
    else:
        states["database"] = workload_state(
            live.get(("StatefulSet", names.postgres)), "StatefulSet"
        )
    if spec.redis.enabled:
        states["redis"] = workload_state(live.get(("Deployment", names.redis)), "Deployment")
    else:
        states["redis"] = ComponentState(True, "Disabled", "Redis is disabled")
    for key, name in (
        ("litellm", names.litellm),
        ("backend", names.backend),
        ("frontend", names.frontend),
    ):
        states[key] = workload_state(live.get(("Deployment", name)), "Deployment")
    ok, reason, message = auth_ready
    states["auth"] = ComponentState(ok, reason, message)
    return states
