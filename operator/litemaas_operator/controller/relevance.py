"""Which changes of a child can change what a reconcile does or reports. Pure.

Controllers rewrite their objects' status often (a Deployment's conditions get new timestamps
and reasons, a Route's ingress status, a Service's load balancer) while the operator reads few
of those fields. A change that leaves every field a reconcile reads as it was need not wake the
reconcile: the children's watches compare the *fingerprints* of the old and the new object and
poke only when they differ. Spec, data, labels, annotations, owners and deletion always count.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Status fields of workloads that observe.py, stuck.py and backup_state.py read.
WORKLOAD_STATUS = (
    "replicas",
    "readyReplicas",
    "availableReplicas",
    "updatedReplicas",
    "terminatingReplicas",
    "observedGeneration",
    "currentRevision",
    "updateRevision",
)
# Kinds whose status nobody reads (hosts come from a Route's spec, set by the router).
STATUS_UNREAD = frozenset({"Route", "Service", "Ingress", "ServiceAccount", "ConfigMap", "Secret"})
METADATA_READ = (
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "deletionTimestamp",
    "generation",
    "uid",
)


def read_status(kind: str, status: dict[str, Any]) -> Any:
    """The part of ``status`` a reconcile reads."""
    if kind in STATUS_UNREAD:
        return None
    if kind in ("Deployment", "StatefulSet"):
        stuck = any(
            c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
            for c in status.get("conditions") or []
        )
        return {**{k: status.get(k) for k in WORKLOAD_STATUS}, "deadlineExceeded": stuck}
    return status  # PVCs (binding, resizing), Jobs: all of it


def fingerprint(kind: str, obj: dict[str, Any]) -> bytes:
    """A digest of what a reconcile reads of ``obj``: equal digests, no reason to reconcile."""
    meta = obj.get("metadata") or {}
    read = {
        **{k: v for k, v in obj.items() if k not in ("metadata", "status")},
        "metadata": {k: meta.get(k) for k in METADATA_READ},
        "status": read_status(kind, obj.get("status") or {}),
    }
    return hashlib.blake2b(json.dumps(read, sort_keys=True).encode(), digest_size=16).digest()
