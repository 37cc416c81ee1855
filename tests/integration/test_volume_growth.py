"""Volume growth on a real API server: raising a size grows the PVC in place and re-creates the
StatefulSet around its running pod; what cannot be done is refused with nothing changed; an
operator killed between the steps carries on from what the cluster shows.

The harness provisioner's resizer (tests/harness/resizer.py) plays the CSI external-resizer;
its ``standard`` class allows expansion and ``fixed-size`` does not.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.waiting import wait_until
from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    # One flavour: volumes do not depend on it, and each test runs a whole instance.
    pytest.mark.parametrize("cluster", ["openshift"], indirect=True),
]

STS = "litemaas-postgres"
POD = "litemaas-postgres-0"
DB_PVC = "data-litemaas-postgres-0"
BACKUP_PVC = "litemaas-backend-backup"
MERGE = "application/merge-patch+json"


@pytest.fixture(autouse=True)
def harness_classes(cluster: Any) -> None:
    if not cluster.owned:
        pytest.skip("needs the harness's expandable and fixed-size StorageClasses and resizer")


def small(database: dict[str, Any], backup: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenShift sample with the given storage settings."""
    body = copy.deepcopy(sample("litemaas-cr"))
    body["spec"]["database"] = {"storage": database}
    body["spec"]["backend"] = {"backupStorage": backup or {"size": "1Gi"}}
    return body


def pvc(crs: CRs, name: str = DB_PVC) -> client.V1PersistentVolumeClaim:
    return crs.core.read_namespaced_persistent_volume_claim(name, crs.namespace)


def statefulset(crs: CRs) -> client.V1StatefulSet | None:
    try:
        return crs.apps.read_namespaced_stateful_set(STS, crs.namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def template_size(crs: CRs) -> str | None:
    sts = statefulset(crs)
    if sts is None or sts.metadata.deletion_timestamp is not None:
        return None
    return sts.spec.volume_claim_templates[0].spec.resources.requests["storage"]


def pod_uid(crs: CRs) -> str:
    return crs.core.read_namespaced_pod(POD, crs.namespace).metadata.uid


def capacity(crs: CRs, name: str) -> str | None:
    return (pvc(crs, name).status.capacity or {}).get("storage")


def events(crs: CRs) -> dict[str, list[str]]:
    """The operator's Events about the CR: reason -> messages."""
    out: dict[str, list[str]] = {}
    items = crs.core.list_namespaced_event(
        crs.namespace, field_selector="involvedObject.kind=LiteMaaS"
    ).items
    for event in items:
        out.setdefault(event.reason, []).append(event.message)
    return out


def wait_resized(crs: CRs, size: str, sts_uid: str, claims: tuple[str, ...] = (DB_PVC,)) -> None:
    """Until the claims report ``size``, a new StatefulSet asks for it, and the CR is Ready."""
    for name in claims:
        wait_until(lambda n=name: capacity(crs, n) == size, 90, what=f"{name} capacity {size}")
    wait_until(lambda: template_size(crs) == size, 60, what=f"claim template {size}")
    wait_until(lambda: statefulset(crs).metadata.uid != sts_uid, 10, what="new StatefulSet")
    crs.wait_condition("litemaas", "Resizing", "False", timeout=60)
    crs.wait_ready(timeout=90)


def phases_until_settled(crs: CRs, timeout: float = 120) -> list[tuple[str, str]]:
    """(phase, Resizing status) as they change, until this generation is Ready, not resizing."""
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cr = crs.get() or {}
        status = cr.get("status") or {}
        if status.get("observedGeneration") == cr["metadata"]["generation"]:
            conds = {c["type"]: c["status"] for c in status.get("conditions") or []}
            now = (status.get("phase", ""), conds.get("Resizing", ""))
            if not seen or seen[-1] != now:
                seen.append(now)
            if now == ("Ready", "False"):
                return seen
        time.sleep(0.1)
    raise TimeoutError(f"not Ready after {timeout}s: {seen}")


def assert_pod_kept(crs: CRs, uid: str) -> None:
    """The database pod is the one from before, now owned by the new StatefulSet."""
    pod = crs.core.read_namespaced_pod(POD, crs.namespace)
    assert pod.metadata.uid == uid, "the database pod was replaced"
    assert pod.metadata.deletion_timestamp is None
    sts = statefulset(crs)
    assert sts is not None
    wait_until(
        lambda: (
            [
                o.uid
                for o in crs.core.read_namespaced_pod(POD, crs.namespace).metadata.owner_references
                or []
            ]
            == [sts.metadata.uid]
        ),
        30,
        what="pod adopted by the new StatefulSet",
    )


def test_raising_the_sizes_grows_both_volumes_in_place_and_keeps_the_pod(
    crs: CRs, operator: OperatorProcess
):
    crs.create(small({"size": "1Gi"}, {"size": "1Gi"}))
    crs.wait_ready()
    uid, sts_uid = pod_uid(crs), statefulset(crs).metadata.uid
    resizing = crs.condition("litemaas", "Resizing")
    assert resizing is not None and (resizing["status"], resizing["reason"]) == (
        "False",
        "NotResizing",
    )

    crs.patch_spec(
        "litemaas",
        {
            "database": {"storage": {"size": "2Gi"}},
            "backend": {"backupStorage": {"size": "2048Mi"}},
        },
    )
    seen = phases_until_settled(crs)
    wait_resized(crs, "2Gi", sts_uid, (DB_PVC, BACKUP_PVC))

    # In progress (not Ready) from the first status of this generation until done; never
    # Degraded, though the StatefulSet was gone for a moment: its pod served throughout.
    assert seen[0] == ("Progressing", "True"), seen
    assert "Degraded" not in {phase for phase, _ in seen}, seen

    assert_pod_kept(crs, uid)
    for name in (DB_PVC, BACKUP_PVC):
        claim = pvc(crs, name)
        assert claim.spec.resources.requests["storage"] == "2Gi"  # 2048Mi, canonical
        pv = crs.core.read_persistent_volume(claim.spec.volume_name)
        assert pv.spec.capacity["storage"] == "2Gi"
    said = events(crs)
    assert any(DB_PVC in m and "1Gi" in m and "2Gi" in m for m in said["ResizeStarted"]), said
    assert "ResizeCompleted" in said, said
    cr = crs.get()
    assert cr["status"]["phase"] == "Ready"


def test_growing_on_a_class_that_cannot_expand_is_refused_and_changes_nothing(
    crs: CRs, operator: OperatorProcess
):
    crs.create(small({"size": "1Gi", "storageClassName": "fixed-size"}))
    crs.wait_ready()
    sts_uid = statefulset(crs).metadata.uid

    crs.patch_spec("litemaas", {"database": {"storage": {"size": "2Gi"}}})
    stalled = crs.wait_condition("litemaas", "Stalled", "True", timeout=60)

    assert stalled["reason"] == "VolumeExpansionUnsupported"
    message = stalled["message"]
    assert DB_PVC in message and "fixed-size" in message and "allowVolumeExpansion" in message
    assert "spec.database.storage.size back to 1Gi" in message
    time.sleep(2)  # a few more reconciles
    assert pvc(crs).spec.resources.requests["storage"] == "1Gi"
    assert statefulset(crs).metadata.uid == sts_uid
    assert template_size(crs) == "1Gi"
    assert crs.condition("litemaas", "DatabaseReady")["reason"] == "VolumeExpansionUnsupported"
    assert crs.condition("litemaas", "Resizing")["status"] == "False"
    assert any("fixed-size" in m for m in events(crs).get("ResizeRefused", []))

    # Taking it back is all it needs.
    crs.patch_spec("litemaas", {"database": {"storage": {"size": "1Gi"}}})
    crs.wait_ready()
    assert statefulset(crs).metadata.uid == sts_uid


def test_shrinking_or_changing_the_class_is_refused_and_changes_nothing(
    crs: CRs, operator: OperatorProcess
):
    crs.create(small({"size": "2Gi"}))
    crs.wait_ready()
    sts_uid = statefulset(crs).metadata.uid

    crs.patch_spec("litemaas", {"database": {"storage": {"size": "1Gi"}}})
    stalled = crs.wait_condition("litemaas", "Stalled", "True", timeout=60)
    assert stalled["reason"] == "VolumeShrinkRefused"
    assert DB_PVC in stalled["message"] and "cannot shrink" in stalled["message"]

    crs.patch_spec(
        "litemaas", {"database": {"storage": {"size": "2Gi", "storageClassName": "fixed-size"}}}
    )
    stalled = crs.wait_condition("litemaas", "Stalled", "True", timeout=60)
    assert stalled["reason"] == "StorageClassChangeRefused"
    assert "standard" in stalled["message"] and "fixed-size" in stalled["message"]

    claim = pvc(crs)
    assert claim.spec.resources.requests["storage"] == "2Gi"
    assert claim.spec.storage_class_name == "standard"
    assert statefulset(crs).metadata.uid == sts_uid and template_size(crs) == "2Gi"

    crs.patch_spec("litemaas", {"database": {"storage": {"storageClassName": None}}})
    crs.wait_ready()
    assert statefulset(crs).metadata.uid == sts_uid


def test_a_killed_operator_resumes_a_resize_from_what_the_cluster_shows(
    crs: CRs, operator: OperatorProcess
):
    crs.create(small({"size": "1Gi"}))
    crs.wait_ready()
    uid = pod_uid(crs)

    # Killed right after patching the PVC: the StatefulSet still has the old template.
    operator.kill()
    sts_uid = statefulset(crs).metadata.uid
    crs.patch_spec("litemaas", {"database": {"storage": {"size": "2Gi"}}})
    grow(crs, "2Gi")
    operator.start()
    wait_resized(crs, "2Gi", sts_uid)
    assert_pod_kept(crs, uid)

    # Killed after the orphaning delete, before the new StatefulSet was created.
    operator.kill()
    sts_uid = statefulset(crs).metadata.uid
    crs.patch_spec("litemaas", {"database": {"storage": {"size": "3Gi"}}})
    grow(crs, "3Gi")
    crs.apps.delete_namespaced_stateful_set(STS, crs.namespace, propagation_policy="Orphan")
    wait_until(lambda: statefulset(crs) is None, 30, what="old StatefulSet gone")
    assert pod_uid(crs) == uid
    operator.start()
    wait_resized(crs, "3Gi", sts_uid)
    assert_pod_kept(crs, uid)

    # Killed at whatever step it reached, again and again.
    sts_uid = statefulset(crs).metadata.uid
    crs.patch_spec("litemaas", {"database": {"storage": {"size": "4Gi"}}})
    for delay in (0.3, 0.6, 1.0):
        time.sleep(delay)
        operator.kill()
        operator.start()
    wait_resized(crs, "4Gi", sts_uid)
    assert_pod_kept(crs, uid)


def grow(crs: CRs, size: str) -> None:
    """The operator's first step, done by hand: the claim's request patched."""
    crs.core.patch_namespaced_persistent_volume_claim(
        DB_PVC,
        crs.namespace,
        {"spec": {"resources": {"requests": {"storage": size}}}},
        _content_type=MERGE,
    )
