"""Volume growth against the API server: the thin part of ``litemaas_operator.resize``.

Per reconcile: read the StorageClasses a raised size depends on, patch the PVCs that may grow,
delete the StatefulSet with orphan cascading when its claim template must change (the apply
re-creates it once it is gone), then report a ``Resizing`` condition and an Event at each of its
transitions. Nothing is kept between reconciles: the PVCs, the StatefulSet and the CR's last
status say where a resize stands, so an operator killed at any step carries on from there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..facts import Instance
from ..render.endpoints import Problem
from ..render.names import Names
from ..resize import (
    FS_RESIZE_PENDING,
    REFUSALS,
    ResizePlan,
    classes_to_read,
    plan_resize,
    wanted_claims,
)
from .conditions import ComponentState, condition
from .events import post_about_instance as post_event
from .kube import KINDS, ApiError, Kube

log = logging.getLogger(__name__)

RESIZING = "Resizing"
NOT_RESIZING = "NotResizing"
# Answers that mean "a person must act" (quota, admission, invalid), not "try again".
REFUSED_STATUSES = (400, 403, 422)


@dataclass
class Resize:
    """What one reconcile decided and did about volume sizes (``plan`` None: nothing known)."""

    plan: ResizePlan | None = None
    objects: list[dict[str, Any]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        """Refused resizes: the CR goes Stalled with these reasons."""
        return self.plan.problems if self.plan else []

    @property
    def quiet(self) -> bool:
        """Whether no resize was done, is under way, or was refused."""
        return not self.done and not self.problems and not (self.plan and self.plan.resizing())

    def fold(self, components: dict[str, ComponentState]) -> dict[str, ComponentState]:
        """Components with a resize under way, reported not ready until it is done.

        The spec asks for a size the volume does not have yet, as during a rollout; the pods
        keep serving meanwhile, and the message says what is waited for.
        """
        out = dict(components)
        by_component: dict[str, list[tuple[str, str]]] = {}
        for component, reason, message in self.plan.resizing() if self.plan else []:
            by_component.setdefault(component, []).append((reason, message))
        for component, items in by_component.items():
            state = out.get(component)
            if state is not None and state.ready:
                message = "; ".join(m for _, m in items)
                out[component] = replace(state, ready=False, reason=items[0][0], message=message)
        return out


async def resize_volumes(
    kube: Kube,
    instance: Instance,
    objects: list[dict[str, Any]],
    live: MutableMapping[tuple[str, str], dict[str, Any]],
) -> Resize:
    """Plan and carry out volume growth; returns the objects the apply should use.

    Patched PVCs replace their entry in ``live``. The StatefulSet is deleted last, after every
    PVC patch, so that a kill in between leaves a state the next plan continues from.
    """
    names = Names(instance)
    claims = wanted_claims(objects, names)
    classes = {name: await kube.get("StorageClass", name) for name in classes_to_read(claims, live)}
    plan = plan_resize(objects, live, classes, names)
    done: list[str] = []
    failed: dict[str, str] = {}
    for step in plan.expand:
        patch = {"spec": {"resources": {"requests": {"storage": step.claim.size}}}}
        try:
            live[("PersistentVolumeClaim", step.claim.name)] = await kube.patch(
                "PersistentVolumeClaim", step.claim.name, instance.namespace, patch
            )
            done.append(f"PersistentVolumeClaim/{step.claim.name} (grown to {step.claim.size})")
        except ApiError as err:
            if err.status not in REFUSED_STATUSES:
                raise
            failed[step.claim.name] = err.message
    if plan.expand:
        # Re-planned from the patched PVCs: they now read as "waiting for the provider".
        plan = plan_resize(objects, live, classes, names, failed)
    sts = plan.statefulset
    if sts is not None and sts.action == "replace":
        await delete_orphaning(kube, sts.name, instance.namespace, sts.uid)
        done.append(f"StatefulSet/{sts.name} (deleted with orphan cascading, to re-create)")
    return Resize(plan, plan.objects, done)


async def delete_orphaning(kube: Kube, name: str, namespace: str, uid: str) -> None:
    """Delete a StatefulSet but not its pods (nor its PVCs, which it never owns: Retain).

    The uid precondition keeps a StatefulSet created meanwhile (by the next reconcile of
    another operator process) from being deleted in its place.
    """
    body = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Orphan",
        "preconditions": {"uid": uid},
    }
    try:
        await kube.request("DELETE", KINDS["StatefulSet"].path(namespace, name), body=body)
    except ApiError as err:
        if err.conflict:  # already a new one: judged by the next reconcile
            return
        if not err.not_found:
            raise
    if kube.cache is not None:  # until its watch says otherwise, read it as gone
        kube.cache.deleted("StatefulSet", name, namespace)


def resizing_condition(
    resize: Resize, generation: int, previous: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The ``Resizing`` condition: True while a volume grows or the StatefulSet is re-created.

    False carries a refusal's reason when one stops a resize, ``NotResizing`` otherwise. With
    nothing known (the spec could not be rendered) the last one written is kept.
    """
    prev = {c.get("type"): c for c in (previous or {}).get("conditions") or []}
    if resize.plan is None:
        return prev.get(RESIZING)
    under_way = resize.plan.resizing()
    refused = [p for p in resize.plan.problems if p.reason in REFUSALS]
    if under_way:
        reasons = [reason for _, reason, _ in under_way]
        # The step a person may have to help with first; else the first volume's, else the
        # StatefulSet's (volumes come first in the list).
        reason = FS_RESIZE_PENDING if FS_RESIZE_PENDING in reasons else reasons[0]
        message = "; ".join(m for _, _, m in under_way)
        return condition(RESIZING, True, reason, message, generation, prev)
    if refused:
        message = "; ".join(p.message for p in refused)
        return condition(RESIZING, False, refused[0].reason, message, generation, prev)
    return condition(RESIZING, False, NOT_RESIZING, "", generation, prev)


async def report_resizing(
    kube: Kube, body: dict[str, Any], status: dict[str, Any], resize: Resize
) -> dict[str, Any]:
    """``status`` with the Resizing condition added; an Event when it starts, ends or is refused."""
    previous = body.get("status") or {}
    generation = int(body["metadata"].get("generation") or 0)
    new = resizing_condition(resize, generation, previous)
    if new is None:
        return status
    old = next((c for c in previous.get("conditions") or [] if c.get("type") == RESIZING), {})
    status = {**status, "conditions": [*status["conditions"], new]}
    if new["status"] == "True" and old.get("status") != "True":
        await post_event(kube, body, "Normal", "ResizeStarted", new["message"])
    elif new["reason"] == NOT_RESIZING and old.get("status") == "True":
        sizes = ", ".join(
            f"{s.claim.name} {s.requested}"
            for s in (resize.plan.steps if resize.plan else [])
            if s.requested
        )
        await post_event(kube, body, "Normal", "ResizeCompleted", f"volumes at size: {sizes}")
    elif new["reason"] in REFUSALS and old.get("reason") != new["reason"]:
        await post_event(kube, body, "Warning", "ResizeRefused", new["message"])
    return status
