"""Executing an adoption plan, step by step. Every step reads the cluster first and does only
what is still to do, so a run killed at any point (SIGKILL) and started again finishes, and a
second run after a finished one changes nothing.

The plan to run is the one stored on ``<name>-credentials`` (annotation ``ANNOTATION``) when
the first step wrote it: later steps delete parts of the old install, which would no longer be
recognised, and must still finish with the plan that was shown.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from .. import credentials as cred
from ..api import API_VERSION, PLURAL
from ..facts import Instance
from ..render.names import MANAGED_BY, OWNER_UID_LABEL, Names
from ..render.secrets import credentials_store
from .detect import RefusedError

ANNOTATION = "litemaas.io/adoption"
STEPS = ("credentials", "retain", "stop", "release", "bind", "remove-clashing", "create", "cleanup")

PATHS = {
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "PersistentVolumeClaim": "/api/v1/namespaces/{ns}/persistentvolumeclaims",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Pod": "/api/v1/namespaces/{ns}/pods",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "Route": "/apis/route.openshift.io/v1/namespaces/{ns}/routes",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    "LiteMaaS": f"/apis/{API_VERSION}/namespaces/{{ns}}/{PLURAL}",
    "PersistentVolume": "/api/v1/persistentvolumes",
    "OAuthClient": "/apis/oauth.openshift.io/v1/oauthclients",
}


class Cluster:
    """The few verbs execution needs, over ``command.Reader``'s ApiClient."""

    def __init__(self, reader: Any, namespace: str) -> None:
        self.reader = reader
        self.ns = namespace
        # Told of every write once it is done: the log shows exactly what changed (and where a
        # killed run stopped), and the tests kill runs between two writes of one step.
        self.wrote: Callable[[str], None] = lambda what: None

    def path(self, kind: str, name: str | None = None) -> str:
        base = PATHS[kind].format(ns=self.ns)
        return f"{base}/{name}" if name else base

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.reader.get(self.path(kind, name))

    def send(self, method: str, path: str, body: Any, ctype: str = "application/json") -> Any:
        return self.reader.send(method, path, body, ctype)

    def patch(self, kind: str, name: str, body: dict[str, Any], what: str = "") -> Any:
        out = self.send("PATCH", self.path(kind, name), body, "application/merge-patch+json")
        self.wrote(f"patched {kind}/{name}{what}")
        return out

    def create(self, kind: str, body: dict[str, Any]) -> Any:
        out = self.send("POST", self.path(kind), body)
        self.wrote(f"created {kind}/{body['metadata']['name']}")
        return out

    def delete(self, kind: str, name: str) -> None:
        self.send("DELETE", self.path(kind, name), {"propagationPolicy": "Background"})
        self.wrote(f"deleted {kind}/{name}")

    def pods(self, selector: dict[str, str]) -> list[dict[str, Any]]:
        query = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        listed = self.reader.get(f"{self.path('Pod')}?labelSelector={query}") or {}
        return listed.get("items") or []


def wait(probe: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f}s; run adopt again")
        time.sleep(1)


def _split(ref: str) -> tuple[str, str]:
    kind, name = ref.split("/", 1)
    return kind, name


def _ours(obj: dict[str, Any] | None) -> bool:
    labels = (obj or {}).get("metadata", {}).get("labels") or {}
    return labels.get("app.kubernetes.io/managed-by") == MANAGED_BY


def stored_plan(cluster: Cluster, name: str) -> dict[str, Any] | None:
    """The plan an earlier run stored, or None; refuses a store that is not an adoption's."""
    store = cluster.get("Secret", Names(Instance(name, cluster.ns)).credentials)
    if store is None:
        return None
    annotations = store["metadata"].get("annotations") or {}
    if ANNOTATION not in annotations:
        raise RefusedError(
            f"Secret/{store['metadata']['name']} exists and was not written by an adoption: "
            "this namespace already has an operator-managed instance of that name (try --name)"
        )
    return json.loads(annotations[ANNOTATION])


def execute(
    cluster: Cluster,
    plan: dict[str, Any],
    values: dict[str, str],
    log: Callable[[str], None],
    timeout: float = 600,
    wait_ready: bool = True,
) -> None:
    """Run every step of ``plan``; ``values`` are the imported credentials (first run only)."""
    instance = Instance(plan["name"], plan["namespace"])
    names = Names(instance)
    total = len(STEPS)
    cluster.wrote = lambda what: log(f"  + {what}")
    # The downtime as this run sees it: when it scaled the old pods down, when they were gone.
    stopping_at: float | None = None
    stopped_at: float | None = None

    def done(i: int, step: str, what: str) -> None:
        log(f"[{i}/{total}] {step}: {what}")

    # 1. credentials: the store, complete, with the plan; created once, never rewritten.
    if cluster.get("Secret", names.credentials) is None:
        complete = dict(values)
        for c in cred.EVERY:
            complete.setdefault(c.key, c.generate())
        store = credentials_store(
            instance, names.credentials, plan["cr"]["spec"].get("version", ""), complete, True
        )
        store["metadata"]["annotations"] = {ANNOTATION: json.dumps(plan, sort_keys=True)}
        cluster.create("Secret", store)
        done(1, "credentials", f"Secret/{names.credentials} created")
    else:
        done(1, "credentials", f"Secret/{names.credentials} already there")

    # 2. retain: the volumes survive whatever happens to their claims.
    for v in plan["volumes"]:
        pv = cluster.get("PersistentVolume", v["pv"])
        if pv is None:
            raise RefusedError(f"PersistentVolume/{v['pv']} is gone: cannot carry its data over")
        if pv["spec"].get("persistentVolumeReclaimPolicy") != "Retain":
            cluster.patch(
                "PersistentVolume",
                v["pv"],
                {"spec": {"persistentVolumeReclaimPolicy": "Retain"}},
                ": reclaim policy Retain",
            )
    done(2, "retain", ", ".join(f"PersistentVolume/{v['pv']}" for v in plan["volumes"]) + " Retain")

    # 3. stop: no old pod may hold the RWO volumes.
    selectors = []
    for ref in plan["stop"]:
        kind, name = _split(ref)
        obj = cluster.get(kind, name)
        if obj is None or _ours(obj):
            continue
        if obj["spec"].get("replicas", 1) != 0:
            stopping_at = stopping_at or time.monotonic()
            cluster.patch(kind, name, {"spec": {"replicas": 0}}, ": replicas 0")
        selectors.append(obj["spec"]["selector"].get("matchLabels") or {})
    wait(lambda: not any(cluster.pods(s) for s in selectors), timeout, "old pods gone")
    if stopping_at is not None:
        stopped_at = time.monotonic()
    done(3, "stop", f"{len(selectors)} old workload(s) at 0 replicas, their pods gone")

    # 4. release: old claims deleted, the volumes pre-bound to the operator's claim names.
    for v in plan["volumes"]:
        if v["old"] != v["new"] and cluster.get("PersistentVolumeClaim", v["old"]) is not None:
            cluster.delete("PersistentVolumeClaim", v["old"])
            wait(
                lambda v=v: cluster.get("PersistentVolumeClaim", v["old"]) is None,
                timeout,
                f"PersistentVolumeClaim/{v['old']} deleted",
            )
        pv = cluster.get("PersistentVolume", v["pv"]) or {}
        ref = pv["spec"].get("claimRef") or {}
        if ref.get("name") != v["new"]:
            cluster.patch(
                "PersistentVolume",
                v["pv"],
                {
                    "spec": {
                        "claimRef": {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "namespace": instance.namespace,
                            "name": v["new"],
                            "uid": None,
                            "resourceVersion": None,
                        }
                    }
                },
                f": reserved for PersistentVolumeClaim/{v['new']}",
            )
    done(4, "release", "volumes reserved for " + ", ".join(v["new"] for v in plan["volumes"]))

    # 5. bind: the operator's claims on the very same volumes.
    for v in plan["volumes"]:
        if cluster.get("PersistentVolumeClaim", v["new"]) is None:
            pv = cluster.get("PersistentVolume", v["pv"]) or {}
            spec = {
                "accessModes": pv["spec"].get("accessModes") or ["ReadWriteOnce"],
                "resources": {"requests": {"storage": pv["spec"]["capacity"]["storage"]}},
                "volumeName": v["pv"],
                "storageClassName": pv["spec"].get("storageClassName", ""),
            }
            cluster.create(
                "PersistentVolumeClaim",
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": v["new"], "namespace": instance.namespace},
                    "spec": spec,
                },
            )

        def bound(v: dict[str, str] = v) -> bool:
            pvc = cluster.get("PersistentVolumeClaim", v["new"]) or {}
            return (pvc.get("status") or {}).get("phase") == "Bound" and (
                pvc["spec"].get("volumeName") == v["pv"]
            )

        wait(bound, timeout, f"PersistentVolumeClaim/{v['new']} Bound to {v['pv']}")
    done(5, "bind", ", ".join(f"{v['new']} -> {v['pv']}" for v in plan["volumes"]))

    # 6. remove-clashing: old objects holding names the operator uses (never the operator's).
    removed = 0
    for ref in plan["clashing"]:
        kind, name = _split(ref)
        obj = cluster.get(kind, name)
        if obj is not None and not _ours(obj):
            cluster.delete(kind, name)
            removed += 1
    done(6, "remove-clashing", f"{removed} deleted")

    # 7. create: the LiteMaaS resource, then Ready.
    if cluster.get("LiteMaaS", instance.name) is None:
        cluster.create("LiteMaaS", plan["cr"])
    if wait_ready:

        def ready() -> bool:
            cr = cluster.get("LiteMaaS", instance.name) or {}
            return any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (cr.get("status") or {}).get("conditions") or []
            )

        wait(ready, timeout, f"LiteMaaS/{instance.name} Ready")
    state = " Ready" if wait_ready else " created"
    if stopping_at is not None and stopped_at is not None and wait_ready:
        now = time.monotonic()
        state += (
            f", {now - stopping_at:.0f}s after the old workloads were scaled down "
            f"({now - stopped_at:.0f}s after their pods were gone)"
        )
    done(7, "create", f"LiteMaaS/{instance.name}{state}")

    # 8. cleanup: the rest of the old install, and the hand-made OAuthClient.
    removed = 0
    for ref in plan["remove"]:
        kind, name = _split(ref)
        obj = cluster.get(kind, name)
        if obj is not None and not _ours(obj):
            cluster.delete(kind, name)
            removed += 1
    client = plan.get("oauthClient")
    if client and client != names.oauth_client:
        obj = cluster.get("OAuthClient", client)
        if obj is not None and OWNER_UID_LABEL not in (obj["metadata"].get("labels") or {}):
            cluster.delete("OAuthClient", client)
            removed += 1
    done(8, "cleanup", f"{removed} old object(s) deleted")


def decode_values(store: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (store.get("data") or {}).items()}
