"""Which changes of a child can change what a reconcile does or reports. Pure.

Controllers rewrite their objects' status often (a Deployment's conditions get new timestamps
and reasons, a Route's ingress status, a Service's load balancer) while the operator reads few
of those fields. A change that leaves every field a reconcile reads as it was need not wake the
reconcile: the children's watches compare the *fingerprints* of the old and the new object and
poke only when they differ. Spec, data, labels, annotations, owners and deletion always count.
Pods are watched for one thing only: whether one is stuck (``pod_signal``), which no workload
status shows.

A fingerprint has two halves, what a reconcile acts on and the status it only reports, so that
a wake can say which changed: a workload becoming ready, or a pod getting stuck, changes only
what the CR's status says (``OBSERVED_ONLY``), and needs an observe-only pass, not a render and
apply (``reconcile.Reconciler.observe``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from .observe import workload_state
from .stuck import UNSCHEDULABLE, WAITING_REASONS

# Kinds whose status nobody reads (hosts come from a Route's spec, set by the router).
STATUS_UNREAD = frozenset({"Route", "Service", "Ingress", "ServiceAccount", "ConfigMap", "Secret"})
# Kinds whose status, while nothing is under way (``acted.is_quiet``: no upgrade, resize,
# backup or restore), only the report half of a reconcile reads (observe, stuck pods, the
# upgrade plan's "rolled out", a claim bound): a change of that status alone is an
# observe-only wake. A Job's status is always a whole wake (a Job runs only when something is
# under way).
OBSERVED_ONLY = frozenset({"Deployment", "StatefulSet", "Pod", "PersistentVolumeClaim"})
# What Kubernetes' own controllers write on children that nobody here reads or sets: the
# volume binder's and provisioners' notes on claims, a Deployment's revision number. Left out
# of fingerprints, so that a claim binding or a Deployment's first rollout wakes nothing by
# them (the status change that goes with them does).
FOREIGN_ANNOTATION_PREFIXES = (
    "pv.kubernetes.io/",
    "volume.kubernetes.io/",
    "volume.beta.kubernetes.io/",
    "deployment.kubernetes.io/revision",
)
FOREIGN_SPEC_FIELDS = {"PersistentVolumeClaim": ("volumeName",)}  # the binder's choice
OBJECT, STATUS = "object", "status"  # what a wake needs: a whole reconcile, or observing only
METADATA_READ = (
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "deletionTimestamp",
    "generation",
    "uid",
)


def read_status(kind: str, obj: dict[str, Any]) -> Any:
    """The part of ``obj``'s status a reconcile reads."""
    status = obj.get("status") or {}
    if kind in STATUS_UNREAD:
        return None
    if kind in ("Deployment", "StatefulSet"):
        return workload_signal(kind, obj)
    return status  # PVCs (binding, resizing), Jobs: all of it


def workload_signal(kind: str, obj: dict[str, Any]) -> Any:
    """What a reconcile makes of a Deployment's or StatefulSet's status.

    Its verdict (``observe.workload_state``: ready or not, the reason and the ``n/m ready``
    message, stalled or not), which is all that the status, upgrades and stuck pods use; and,
    while it is scaled to 0 (a restore stopping the writers), the pods it still has. A rollout
    moves through several statuses (replicas counted, then updated, then ready) that leave the
    verdict as it was: those wake nobody.
    """
    read: dict[str, Any] = {"state": dataclasses.astuple(workload_state(obj, kind))}
    if int((obj.get("spec") or {}).get("replicas", 1)) == 0:
        status = obj.get("status") or {}
        # backup_state.writers_down: no pod left, the scale-down observed
        read["left"] = [
            status.get("replicas"),
            status.get("terminatingReplicas"),
            status.get("observedGeneration"),
        ]
    return read


def pod_signal(pod: dict[str, Any]) -> Any:
    """What says a pod is stuck (``stuck.pod_findings`` reads it); None for one that is not.

    A pod that starts normally changes nothing here: its workload's status says when it is
    ready. Restart counts are left out (a crash loop would wake a reconcile per restart).
    """
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed"):
        return None  # going away, or done: not judged
    containers = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    waiting = sorted(
        (str(c.get("name")), WAITING_REASONS[reason])
        for c in containers
        if (reason := ((c.get("state") or {}).get("waiting") or {}).get("reason"))
        in WAITING_REASONS
    )
    unschedulable = any(
        c.get("type") == "PodScheduled"
        and c.get("status") == "False"
        and c.get("reason") == UNSCHEDULABLE
        for c in status.get("conditions") or []
    )
    return (
        {"waiting": waiting, "unschedulable": True}
        if unschedulable
        else ({"waiting": waiting} if waiting else None)
    )


def fingerprint(kind: str, obj: dict[str, Any]) -> bytes:
    """A digest of what a reconcile reads of ``obj``: equal digests, no reason to reconcile.

    Two halves of ``HALF`` bytes: the object without its status, then the status as read.
    """
    if kind == "Pod":
        return QUIET_OBJECT + _digest(pod_signal(obj))
    meta = obj.get("metadata") or {}
    read_meta = {k: meta.get(k) for k in METADATA_READ}
    if read_meta["annotations"]:
        read_meta["annotations"] = {
            k: v
            for k, v in read_meta["annotations"].items()
            if not k.startswith(FOREIGN_ANNOTATION_PREFIXES)
        } or None  # as if it had none
    rest = {
        **{k: v for k, v in obj.items() if k not in ("metadata", "status", "spec")},
        "metadata": read_meta,
        "spec": _spec_read(kind, obj.get("spec")),
    }
    return _digest(rest) + _digest(read_status(kind, obj))


def _spec_read(kind: str, spec: Any) -> Any:
    foreign = FOREIGN_SPEC_FIELDS.get(kind)
    if not foreign or not isinstance(spec, dict):
        return spec
    return {k: v for k, v in spec.items() if k not in foreign}


HALF = 16


def _digest(read: Any) -> bytes:
    return hashlib.blake2b(json.dumps(read, sort_keys=True).encode(), digest_size=HALF).digest()


# A pod's object half (none is read), and a pod that is not stuck, as if absent: its creation
# and deletion wake nobody.
QUIET_OBJECT = _digest(None)
QUIET_POD = QUIET_OBJECT + _digest(None)


def wakes(kind: str, before: bytes | None, after: bytes | None) -> str | None:
    """What a change from fingerprint ``before`` to ``after`` (None: absent) needs: ``OBJECT``
    (a whole reconcile), ``STATUS`` (observing only), or None (no news).

    Pods count only while stuck: a healthy pod appearing or going is their workload's news.
    """
    if kind == "Pod":
        before, after = before or QUIET_POD, after or QUIET_POD
    if before == after:
        return None
    if (
        kind in OBSERVED_ONLY
        and before is not None
        and after is not None
        and before[:HALF] == after[:HALF]
    ):
        return STATUS
    return OBJECT
