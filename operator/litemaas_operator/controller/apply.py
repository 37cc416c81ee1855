"""Apply desired children: ownership, drift detection, server-side apply, pruning.

A child is applied only when the live object does not already hold every field we want
(``contains``), so a steady-state resync sends reads and no writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from ..api import API_VERSION, KIND
from ..render.names import PREFIX, RETAIN_LABEL
from .kube import KINDS

APPLIED_HASH = f"{PREFIX}/applied-hash"

# Kinds the operator may create in a namespace, listed (and pruned) per instance.
NAMESPACED_KINDS = (
    "ConfigMap",
    "Secret",
    "Service",
    "ServiceAccount",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "Ingress",
    "NetworkPolicy",
    "Route",
    # The database password-rotation Job (render/password_rotation.py).
    "Job",
    # spec.monitoring (render/monitoring.py), where monitoring.coreos.com/v1 is served.
    "ServiceMonitor",
    "PodMonitor",
)


# What workloads need to exist before them: the ReplicaSet and StatefulSet controllers cannot
# create a pod whose ServiceAccount, Secrets, ConfigMaps or claims are missing yet (it would
# be refused, or stay pending, and back off). Everything else goes in a second wave.
FIRST_WAVE = frozenset(
    {"ServiceAccount", "Secret", "ConfigMap", "PersistentVolumeClaim", "NetworkPolicy"}
)


def apply_waves(objects: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``objects`` in the waves they are applied in: within a wave, all at once.

    A wave keeps the rendered order; empty waves are left out.
    """
    first = [o for o in objects if o["kind"] in FIRST_WAVE]
    second = [o for o in objects if o["kind"] not in FIRST_WAVE]
    return [wave for wave in (first, second) if wave]


def owner_reference(body: dict[str, Any]) -> dict[str, Any]:
    """The controller ownerReference that lets garbage collection remove a child with the CR."""
    meta = body["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def with_owner(obj: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with an ownerReference, unless it is cluster-scoped or must outlive the CR."""
    kind = KINDS[obj["kind"]]
    labels = obj["metadata"].get("labels") or {}
    if not kind.namespaced or labels.get(RETAIN_LABEL) == "true":
        return obj
    meta = {**obj["metadata"], "ownerReferences": [owner]}
    return {**obj, "metadata": meta}


def contains(live: Any, want: Any) -> bool:
    """Whether ``live`` holds every field of ``want`` (lists compared item by item).

    Fields the API server adds (defaults, status, managedFields) are ignored; a value that the
    server would normalise differently (``0.5`` vs ``500m``) reads as drift and is re-applied,
    which is harmless: the apply is idempotent.
    """
    if isinstance(want, dict):
        # The API server drops empty lists and maps, so an empty wanted value matches absence.
        return isinstance(live, dict) and all(
            contains(live[k], v) if k in live else v in ([], {}) for k, v in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(live, list)
            and len(live) == len(want)
            and all(contains(a, b) for a, b in zip(live, want, strict=True))
        )
    if isinstance(want, bool) or isinstance(live, bool):
        return want is live
    if isinstance(want, int | float) and isinstance(live, int | float):
        return want == live
    return live == want


def key(obj: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of an object."""
    return obj["kind"], obj["metadata"]["name"]


def stamped(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` annotated with a hash of itself.

    Containment alone cannot see a field the spec *stopped* asking for (a nodeSelector taken
    out): the live object still contains everything desired. A changed hash makes the next
    apply happen, and server-side apply then removes the fields this manager no longer sets.
    """
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:32]
    meta = obj["metadata"]
    annotations = {**(meta.get("annotations") or {}), APPLIED_HASH: digest}
    return {**obj, "metadata": {**meta, "annotations": annotations}}


def needs_apply(desired: dict[str, Any], live: dict[str, Any] | None) -> bool:
    """Whether ``desired`` (as returned by ``stamped``) must be applied over ``live``."""
    if live is None:
        return True
    if desired["kind"] == "Job":
        # Created once, never re-applied: its pod template is immutable (a changed
        # spec.imagePullSecrets would make every apply fail), and its name already stands for
        # what it does.
        return False
    want = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind")}
    return not contains(live, want)


def prunable(
    live: Iterable[dict[str, Any]], desired_keys: set[tuple[str, str]], protected: set[str]
) -> list[dict[str, Any]]:
    """Live children no longer desired (e.g. Redis turned off), excluding retained data."""
    out = []
    for obj in live:
        meta = obj["metadata"]
        if key(obj) in desired_keys or meta["name"] in protected:
            continue
        if meta.get("deletionTimestamp"):
            continue  # already going (a finalizer holds it): deleting it again changes nothing
        if (meta.get("labels") or {}).get(RETAIN_LABEL) == "true":
            continue
        if obj["kind"] == "PersistentVolumeClaim":
            continue  # volumes are never pruned; only the finalizer deletes them, on opt-in
        if any(
            ref.get("controller") and ref.get("kind") != KIND
            for ref in meta.get("ownerReferences") or []
        ):
            continue  # another controller's (a backup's Job): not this reconcile's to remove
        out.append(obj)
    # A deny-all NetworkPolicy goes before the policies that open holes in it: the other way
    # round, traffic the instance still serves is cut off between the deletes.
    return sorted(out, key=lambda obj: not _denies_all(obj))


def _denies_all(obj: dict[str, Any]) -> bool:
    spec = obj.get("spec") or {}
    return obj["kind"] == "NetworkPolicy" and not spec.get("ingress")
