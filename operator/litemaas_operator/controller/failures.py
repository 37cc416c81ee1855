"""A reconcile that failed, shown on the CR: whatever the error, a person sees it there.

Without this, an error the loop retries (an API server's 500 for a child it refuses, a bug, an
outage) shows only in the operator's log: a new CR keeps an empty status, and a Ready CR keeps
saying Ready while its new generation is never applied. Each failure is written as conditions
that kstatus and Argo CD read: the generation counts as observed (the operator tried it), Ready
is False, Reconciling is True while retries may still help, and Stalled after a few failures in a
row, so that GitOps tools stop waiting and report the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .conditions import _condition, not_stalled
from .logs import redact

REASON = "ReconcileFailed"
# Consecutive failures (1 s, 2 s, 4 s of backoff) after which the CR reads Stalled: a transient
# blip recovers within these; a persistent error is a person's to fix.
STALL_AFTER = 3


def failure_status(
    previous: Mapping[str, Any] | None, generation: int, error: str, failures: int
) -> dict[str, Any]:
    """The status after ``failures`` reconciles in a row failed, the last with ``error``.

    Component conditions, URLs and replica counts are kept as last observed; Ready, Reconciling
    and Stalled say what went wrong. ``error`` is redacted of any known secret value.
    """
    previous = previous or {}
    prev = {c.get("type"): c for c in previous.get("conditions") or []}
    message = redact(error)[:4000]
    stalled = failures >= STALL_AFTER
    tried = f"reconcile failed {failures} time(s) in a row: {message}"
    calm_reason, calm_message = not_stalled(prev)
    ours = {
        "Ready": _condition("Ready", False, REASON, tried, generation, prev),
        "Reconciling": _condition(
            "Reconciling",
            not stalled,
            "RetryingAfterError" if not stalled else "Done",
            f"{tried}; retrying" if not stalled else "",
            generation,
            prev,
        ),
        "Stalled": _condition(
            "Stalled",
            stalled,
            REASON if stalled else calm_reason,
            f"{tried}; still retrying with backoff" if stalled else calm_message,
            generation,
            prev,
        ),
    }
    # `_condition(ok=...)` maps ok to "True": Reconciling/Stalled are abnormal-true, so `ok` here
    # is "the condition holds".
    kept = [c for c in previous.get("conditions") or [] if c.get("type") not in ours]
    was_ready = previous.get("phase") in ("Ready", "Degraded")
    phase = "Stalled" if stalled else ("Degraded" if was_ready else "Progressing")
    status = {k: v for k, v in previous.items() if k not in ("conditions", "phase")}
    status |= {
        "observedGeneration": generation,
        "phase": phase,
        "conditions": [*ours.values(), *kept],
    }
    return status


def is_transition(failures: int) -> bool:
    """Whether this failure deserves an Event: the first one, and the one that stalls."""
    return failures in (1, STALL_AFTER)
