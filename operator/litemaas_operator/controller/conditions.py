"""Status computation: observed children and problems -> conditions, phase, URLs. Pure.

The conditions follow the kstatus conventions Flux reads (``Reconciling`` while working,
``Stalled`` when it cannot proceed without a person, ``Ready`` when done), and carry
``observedGeneration`` so no tool mistakes an old status for the current spec's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..render.endpoints import Endpoints, Problem

# Component key -> (condition type, human name). Order is the start-up order.
COMPONENTS: dict[str, tuple[str, str]] = {
    "database": ("DatabaseReady", "PostgreSQL"),
    "redis": ("RedisReady", "Redis"),
    "litellm": ("LiteLLMReady", "LiteLLM"),
    "backend": ("BackendReady", "Backend"),
    "frontend": ("FrontendReady", "Frontend"),
    "auth": ("AuthReady", "Authentication"),
}
# What each component waits for before it can become ready (mirrors the init containers).
DEPENDS_ON = {"litellm": "database", "backend": "database", "frontend": "backend"}


@dataclass(frozen=True)
class ComponentState:
    """What was observed of one component."""

    ready: bool
    reason: str
    message: str
    replicas: int = 0
    ready_replicas: int = 0
    failed: bool = False  # e.g. ProgressDeadlineExceeded: needs a person, not time


@dataclass
class Observation:
    """Everything the status is computed from."""

    generation: int
    version: str | None  # running everywhere (controller/upgrades.py), not the spec's
    platform: str | None
    components: dict[str, ComponentState]
    endpoints: Endpoints | None
    problems: Sequence[Problem] = field(default_factory=list)
    apply_errors: Sequence[str] = field(default_factory=list)


# The Stalled condition's reason once a stall is over but the resource is not Ready yet: it
# carries "this was stalled" through Progressing to the Ready that announces the recovery
# (transition times have one-second resolution, too coarse to tell the order apart).
RESUMED = "Resumed"


def not_stalled(previous: Mapping[str, Any]) -> tuple[str, str]:
    """The reason and message of a Stalled condition that is False and not yet Ready.

    ``previous`` maps types to the conditions last written.
    """
    old = previous.get("Stalled") or {}
    if old.get("status") == "True":
        return RESUMED, f"no longer stalled ({old.get('reason')}); waiting to be ready"
    if old.get("reason") == RESUMED:
        return RESUMED, str(old.get("message") or "")
    return "NotStalled", ""


def now() -> str:
    """The current time in the RFC 3339 form conditions use."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(
    ctype: str, ok: bool, reason: str, message: str, generation: int, previous: Mapping
) -> dict[str, Any]:
    return status_condition(ctype, "True" if ok else "False", reason, message, generation, previous)


def status_condition(
    ctype: str, status: str, reason: str, message: str, generation: int, previous: Mapping
) -> dict[str, Any]:
    """One condition with any status (``True``, ``False``, ``Unknown``).

    ``previous`` maps types to the conditions last written.
    """
    old = previous.get(ctype) or {}
    # lastTransitionTime moves only when the status flips; a status write with the same
    # conditions is then byte-identical and can be skipped.
    since = old.get("lastTransitionTime") if old.get("status") == status else None
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message[:32768],
        "observedGeneration": generation,
        "lastTransitionTime": since or now(),
    }


def condition(
    ctype: str, ok: bool, reason: str, message: str, generation: int, previous: Mapping
) -> dict[str, Any]:
    """One condition (``ok``: status True) for modules that add their own, e.g. ``Resizing``.

    ``previous`` maps types to the conditions last written, so an unchanged status keeps its
    ``lastTransitionTime``.
    """
    return _condition(ctype, ok, reason, message, generation, previous)


def component_conditions(obs: Observation) -> dict[str, tuple[bool, str, str, bool]]:
    """Per-component (ready, reason, message, failed), with problems and dependencies folded in."""
    out: dict[str, tuple[bool, str, str, bool]] = {}
    problems_by = {}
    for problem in obs.problems:
        problems_by.setdefault(_component_of(problem.component), problem)
    for key in COMPONENTS:
        state = obs.components.get(key)
        problem = problems_by.get(key)
        # An invalid input marks its component not ready even while old pods still run: the
        # component cannot reach the desired state until a person acts.
        if problem is not None and (problem.kind == "invalid" or state is None or not state.ready):
            out[key] = (False, problem.reason, problem.message, problem.kind == "invalid")
            continue
        if state is None:
            out[key] = (False, "Pending", "not created yet", False)
            continue
        if not state.ready and key in DEPENDS_ON:
            dep = obs.components.get(DEPENDS_ON[key])
            if dep is not None and not dep.ready and not state.failed:
                dep_name = COMPONENTS[DEPENDS_ON[key]][1]
                out[key] = (
                    False,
                    f"WaitingFor{dep_name}",
                    f"waiting for {dep_name} to be ready; {state.message}",
                    False,
                )
                continue
        out[key] = (state.ready, state.reason, state.message, state.failed)
    return out


def _component_of(name: str) -> str:
    """Map a problem's component onto a condition's component."""
    return {"routing": "frontend", "network": "frontend"}.get(name, name)


def compute_status(obs: Observation, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The full ``status`` for an observation, keeping transition times of unchanged conditions."""
    previous = previous or {}
    prev_conditions = {c.get("type"): c for c in previous.get("conditions") or []}
    gen = obs.generation
    per = component_conditions(obs)
    conditions = [
        _condition(COMPONENTS[key][0], ok, reason, msg, gen, prev_conditions)
        for key, (ok, reason, msg, _failed) in per.items()
    ]
    invalid = [p for p in obs.problems if p.kind == "invalid"]
    failed = [(k, v) for k, v in per.items() if v[3]]
    not_ready = [(k, v) for k, v in per.items() if not v[0]]
    stalled_msgs = [p.message for p in invalid] + list(obs.apply_errors)
    stalled_msgs += [f"{COMPONENTS[k][1]}: {v[2]}" for k, v in failed if not invalid]
    stalled = bool(stalled_msgs)
    ready = not not_ready and not stalled
    if stalled:
        stalled_reason = (
            invalid[0].reason
            if invalid
            else ("ApplyFailed" if obs.apply_errors else failed[0][1][1])
        )
        stalled_message = "; ".join(dict.fromkeys(stalled_msgs))
    elif ready:
        stalled_reason, stalled_message = "NotStalled", ""
    else:
        stalled_reason, stalled_message = not_stalled(prev_conditions)
    if ready:
        ready_reason, ready_message = "Ready", "all components are ready"
    elif stalled:
        ready_reason, ready_message = stalled_reason, stalled_message
    else:
        _key, (_ok, first_reason, _msg, _f) = not_ready[0]
        ready_reason = first_reason
        ready_message = "waiting for " + ", ".join(
            f"{COMPONENTS[k][1]} ({v[2]})" for k, v in not_ready
        )
    # Degraded: this generation was Ready and lost it. It stays Degraded until Ready again (not
    # back to Progressing on the next write), and a new generation rolling out is Progressing,
    # so Argo CD does not report every upgrade as Degraded.
    prev_ready = prev_conditions.get("Ready") or {}
    was_ready = prev_ready.get("observedGeneration") == gen and (
        prev_ready.get("status") == "True" or previous.get("phase") == "Degraded"
    )
    reconciling = not ready and not stalled
    conditions = [
        _condition("Ready", ready, ready_reason, ready_message, gen, prev_conditions),
        _condition(
            "Reconciling",
            reconciling,
            "Progressing" if reconciling else "Done",
            ready_message if reconciling else "",
            gen,
            prev_conditions,
        ),
        _condition("Stalled", stalled, stalled_reason, stalled_message, gen, prev_conditions),
        *conditions,
    ]
    # `_condition` maps ok=True to status True; Reconciling/Stalled are "abnormal-true".
    if ready:
        phase = "Ready"
    elif stalled:
        phase = "Stalled"
    elif was_ready:
        phase = "Degraded"
    else:
        phase = "Progressing"
    status: dict[str, Any] = {
        "observedGeneration": gen,
        "phase": phase,
        "version": obs.version,
        "conditions": conditions,
        "components": {
            key: {"replicas": state.replicas, "readyReplicas": state.ready_replicas}
            for key, state in obs.components.items()
            if key != "auth"
        },
    }
    if obs.platform:
        status["platform"] = obs.platform
    ep = obs.endpoints
    urls = {}
    if ep is not None and ep.frontend_url:
        urls["frontend"] = ep.frontend_url
    if ep is not None and ep.litellm_public_url:
        urls["litellm"] = ep.litellm_public_url
    if urls:
        status["urls"] = urls
    return status


def status_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether writing ``new`` would change anything the operator owns in the status."""
    old = old or {}
    return any(old.get(key) != value for key, value in new.items())
