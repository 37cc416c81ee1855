"""Volume growth, the pure plan: (rendered objects, live PVCs, StorageClasses, live StatefulSet)
-> PVC patches, a StatefulSet replacement, refusals, and the objects the apply may send."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rendering import INSTANCE, render

from litemaas_operator.controller.conditions import ComponentState
from litemaas_operator.controller.volumes import Resize, resizing_condition
from litemaas_operator.render.names import Names
from litemaas_operator.resize import (
    CLASS_CHANGE_REFUSED,
    EXPANDING,
    EXPANSION_FAILED,
    FS_RESIZE_PENDING,
    REPLACING,
    SHRINK_REFUSED,
    UNSUPPORTED,
    WAITING_FOR_BINDING,
    Claim,
    classes_to_read,
    plan_resize,
    plan_volume,
    quantity,
    wanted_claims,
)

NAMES = Names(INSTANCE)
DB_PVC = NAMES.postgres_pvc
BACKUP_PVC = NAMES.backend_backup
EXPANDABLE = {"metadata": {"name": "standard"}, "allowVolumeExpansion": True}
FIXED = {"metadata": {"name": "fixed-size"}}
DB_CLAIM = Claim(DB_PVC, "database", "spec.database.storage", "2Gi", None)


def pvc(
    name: str = DB_PVC,
    size: str = "1Gi",
    cls: str | None = "standard",
    capacity: str | None = None,
    phase: str = "Bound",
    conditions: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A live PVC as the API server returns it (class filled in by the default-class admission)."""
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {}}}
    spec["resources"]["requests"]["storage"] = size
    if cls:
        spec["storageClassName"] = cls
    status: dict[str, Any] = {"phase": phase}
    if phase == "Bound":
        status["capacity"] = {"storage": capacity or size}
    if conditions:
        status["conditions"] = conditions
    return {
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": spec,
        "status": status,
    }


def objects(database: dict | None = None, backup: dict | None = None) -> list[dict[str, Any]]:
    """What the reconciler renders for a spec with these storage settings."""
    spec = {"database": {"storage": database or {}}, "backend": {"backupStorage": backup or {}}}
    return render(spec).objects


def statefulset_of(objs: list[dict[str, Any]], *, deleting: bool = False) -> dict[str, Any]:
    """The rendered StatefulSet as the live one (uid, defaults), optionally being deleted."""
    sts = copy.deepcopy(next(o for o in objs if o["kind"] == "StatefulSet"))
    sts["metadata"]["uid"] = "sts-uid-1"
    if deleting:
        sts["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        sts["metadata"]["finalizers"] = ["orphan"]
    for template in sts["spec"]["volumeClaimTemplates"]:
        template["spec"]["volumeMode"] = "Filesystem"  # defaulted by the API server
        template["status"] = {"phase": "Pending"}
    return sts


def live_of(*items: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in items}


def claim_size(obj: dict[str, Any]) -> str:
    """The size a PVC or a StatefulSet's first claim template asks for."""
    spec = (
        obj["spec"]["volumeClaimTemplates"][0]["spec"]
        if "volumeClaimTemplates" in obj["spec"]
        else obj["spec"]
    )
    return spec["resources"]["requests"]["storage"]


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind)


def old_templates(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return by_kind(objs, "StatefulSet")["spec"]["volumeClaimTemplates"]


# --- one volume ---------------------------------------------------------------------------------


def test_raising_the_size_on_an_expandable_class_expands():
    step = plan_volume(DB_CLAIM, pvc(size="1Gi"), EXPANDABLE)
    assert step.action == "expand"
    assert step.reason == EXPANDING
    assert DB_PVC in step.message and "1Gi" in step.message and "2Gi" in step.message


def test_an_equal_size_does_nothing_even_written_another_way():
    assert quantity("10Gi") == quantity("10240Mi")
    claim = Claim(DB_PVC, "database", "spec.database.storage", "10240Mi", None)
    step = plan_volume(claim, pvc(size="10Gi"), None)
    assert step.action == "none"


def test_a_larger_volume_than_asked_for_still_counts_as_grown():
    # Providers round up: 1Gi asked, 5Gi given.
    step = plan_volume(Claim(DB_PVC, "database", "f", "1Gi", None), pvc(capacity="5Gi"), None)
    assert step.action == "none"


def test_shrinking_is_refused_and_says_what_to_do():
    claim = Claim(DB_PVC, "database", "spec.database.storage", "512Mi", None)
    step = plan_volume(claim, pvc(size="1Gi"), EXPANDABLE)
    assert (step.action, step.reason) == ("refuse", SHRINK_REFUSED)
    assert DB_PVC in step.message and "512Mi" in step.message
    assert "spec.database.storage.size to 1Gi or more" in step.message


def test_a_class_that_cannot_expand_is_refused_naming_the_class():
    step = plan_volume(DB_CLAIM, pvc(cls="fixed-size"), FIXED)
    assert (step.action, step.reason) == ("refuse", UNSUPPORTED)
    assert "fixed-size" in step.message and DB_PVC in step.message
    assert "allowVolumeExpansion: true" in step.message
    assert "spec.database.storage.size back to 1Gi" in step.message


def test_a_missing_class_cannot_expand():
    step = plan_volume(DB_CLAIM, pvc(cls="gone"), None)
    assert (step.action, step.reason) == ("refuse", UNSUPPORTED)
    assert "StorageClass gone does not exist" in step.message
    step = plan_volume(DB_CLAIM, pvc(cls=None), None)
    assert "it has no StorageClass" in step.message


def test_changing_the_class_of_an_existing_volume_is_refused():
    claim = Claim(DB_PVC, "database", "spec.database.storage", "1Gi", "fast")
    step = plan_volume(claim, pvc(cls="standard"), EXPANDABLE)
    assert (step.action, step.reason) == ("refuse", CLASS_CHANGE_REFUSED)
    assert "standard" in step.message and "fast" in step.message and DB_PVC in step.message


def test_an_unset_class_means_the_class_the_claim_got():
    # storageClassName empty in the spec: the default class, as the API server wrote it.
    step = plan_volume(DB_CLAIM, pvc(cls="standard"), EXPANDABLE)
    assert step.action == "expand"
    naming_it = Claim(DB_PVC, "database", "f", "2Gi", "standard")
    assert plan_volume(naming_it, pvc(cls="standard"), EXPANDABLE).action == "expand"


def test_a_patched_claim_waits_for_the_provider():
    step = plan_volume(DB_CLAIM, pvc(size="2Gi", capacity="1Gi"), None)
    assert (step.action, step.reason) == ("wait", EXPANDING)
    assert "capacity 1Gi" in step.message
    pending = [{"type": FS_RESIZE_PENDING, "status": "True"}]
    step = plan_volume(DB_CLAIM, pvc(size="2Gi", capacity="1Gi", conditions=pending), None)
    assert (step.action, step.reason) == ("wait", FS_RESIZE_PENDING)


def test_an_unbound_claim_waits_instead_of_being_patched():
    step = plan_volume(DB_CLAIM, pvc(phase="Pending"), EXPANDABLE)
    assert (step.action, step.reason) == ("wait", WAITING_FOR_BINDING)


def test_a_claim_not_created_yet_is_left_to_the_apply():
    assert plan_volume(DB_CLAIM, None, None).action == "none"


# --- the whole plan -----------------------------------------------------------------------------


def test_steady_state_reads_no_class_and_changes_nothing():
    objs = objects({"size": "1Gi"}, {"size": "5Gi"})
    live = live_of(pvc(size="1Gi"), pvc(BACKUP_PVC, "5Gi"), statefulset_of(objs))
    assert classes_to_read(wanted_claims(objs, NAMES), live) == set()
    plan = plan_resize(objs, live, {}, NAMES)
    assert plan.expand == [] and plan.problems == [] and plan.resizing() == []
    assert plan.statefulset is not None and plan.statefulset.action == "keep"
    assert plan.objects == objs


def test_a_size_written_another_way_is_applied_as_the_cluster_writes_it():
    # The API server stores 10240Mi as 10Gi: applying 10240Mi would read as drift forever.
    objs = objects({"size": "10240Mi"}, {"size": "5120Mi"})
    live_sts = statefulset_of(objects({"size": "10Gi"}))
    live = live_of(pvc(size="10Gi"), pvc(BACKUP_PVC, "5Gi"), live_sts)
    plan = plan_resize(objs, live, {}, NAMES)
    assert plan.problems == [] and plan.resizing() == []
    assert plan.statefulset is not None and plan.statefulset.action == "keep"
    assert claim_size(by_kind(plan.objects, "StatefulSet")) == "10Gi"
    assert claim_size(by_kind(plan.objects, "PersistentVolumeClaim")) == "5Gi"


def test_growing_patches_the_claim_and_replaces_the_statefulset_holding_its_template():
    old = objects({"size": "1Gi"})
    new = objects({"size": "2Gi"}, {"size": "10Gi"})
    live = live_of(pvc(size="1Gi"), pvc(BACKUP_PVC, "5Gi"), statefulset_of(old))
    assert classes_to_read(wanted_claims(new, NAMES), live) == {"standard"}
    plan = plan_resize(new, live, {"standard": EXPANDABLE}, NAMES)
    assert [(s.claim.name, s.claim.size) for s in plan.expand] == [
        (DB_PVC, "2Gi"),
        (BACKUP_PVC, "10Gi"),
    ]
    assert plan.statefulset is not None
    assert (plan.statefulset.action, plan.statefulset.uid) == ("replace", "sts-uid-1")
    # Until the old StatefulSet is gone, the apply must not touch its immutable template.
    assert claim_size(by_kind(plan.objects, "StatefulSet")) == "1Gi"
    # The plain PVC is applied at the new size, as patched.
    assert claim_size(by_kind(plan.objects, "PersistentVolumeClaim")) == "10Gi"
    assert {c for c, _, _ in plan.resizing()} == {"database", "backend"}


def test_after_a_kill_past_the_orphan_delete_the_terminating_statefulset_is_waited_for():
    old, new = objects({"size": "1Gi"}), objects({"size": "2Gi"})
    live = live_of(pvc(size="2Gi", capacity="1Gi"), statefulset_of(old, deleting=True))
    plan = plan_resize(new, live, {}, NAMES)
    assert plan.expand == []
    assert plan.statefulset is not None and plan.statefulset.action == "hold"
    assert claim_size(by_kind(plan.objects, "StatefulSet")) == "1Gi"
    assert (REPLACING in {r for _, r, _ in plan.resizing()}) is True


def test_once_the_old_statefulset_is_gone_the_new_template_is_applied():
    new = objects({"size": "2Gi"})
    live = live_of(pvc(size="2Gi", capacity="2Gi"))
    plan = plan_resize(new, live, {}, NAMES)
    assert plan.statefulset is not None and plan.statefulset.action == "keep"
    assert claim_size(by_kind(plan.objects, "StatefulSet")) == "2Gi"
    assert plan.resizing() == []


def test_after_a_kill_past_the_pvc_patch_the_statefulset_is_still_replaced():
    old, new = objects({"size": "1Gi"}), objects({"size": "2Gi"})
    live = live_of(pvc(size="2Gi", capacity="1Gi"), statefulset_of(old))
    plan = plan_resize(new, live, {}, NAMES)
    assert plan.expand == []
    assert plan.statefulset is not None and plan.statefulset.action == "replace"


def test_a_refusal_holds_the_statefulset_and_the_backup_claim_as_they_are():
    old = objects({"size": "2Gi", "storageClassName": "standard"}, {"size": "5Gi"})
    new = objects({"size": "1Gi", "storageClassName": "standard"}, {"size": "1Gi"})
    live = live_of(pvc(size="2Gi"), pvc(BACKUP_PVC, "5Gi"), statefulset_of(old))
    plan = plan_resize(new, live, {}, NAMES)
    assert {(p.component, p.reason) for p in plan.problems} == {
        ("database", SHRINK_REFUSED),
        ("backend", SHRINK_REFUSED),
    }
    assert all(p.kind == "invalid" for p in plan.problems)
    assert plan.statefulset is not None and plan.statefulset.action == "hold"
    assert plan.resizing() == []
    sts = by_kind(plan.objects, "StatefulSet")
    assert sts["spec"]["volumeClaimTemplates"] == old_templates(old)
    assert claim_size(by_kind(plan.objects, "PersistentVolumeClaim")) == "5Gi"


def test_a_class_change_of_the_backup_claim_keeps_the_live_class_in_what_is_applied():
    new = objects(backup={"size": "5Gi", "storageClassName": "fast"})
    live = live_of(pvc(BACKUP_PVC, "5Gi", cls="standard"))
    plan = plan_resize(new, live, {}, NAMES)
    assert [p.reason for p in plan.problems] == [CLASS_CHANGE_REFUSED]
    applied = by_kind(plan.objects, "PersistentVolumeClaim")
    assert applied["spec"]["storageClassName"] == "standard"


def test_naming_the_class_the_volume_already_has_replaces_only_the_statefulset():
    old = objects({"size": "1Gi"})
    new = objects({"size": "1Gi", "storageClassName": "standard"})
    live = live_of(pvc(size="1Gi", cls="standard"), statefulset_of(old))
    plan = plan_resize(new, live, {}, NAMES)
    assert plan.expand == [] and plan.problems == []
    assert plan.statefulset is not None and plan.statefulset.action == "replace"


def test_a_patch_the_api_server_refused_is_reported_and_holds_everything():
    old, new = objects({"size": "1Gi"}), objects({"size": "2Gi"})
    live = live_of(pvc(size="1Gi"), statefulset_of(old))
    failed = {DB_PVC: "exceeded quota: storage, requested: requests.storage=1Gi"}
    plan = plan_resize(new, live, {"standard": EXPANDABLE}, NAMES, failed)
    assert [p.reason for p in plan.problems] == [EXPANSION_FAILED]
    assert "exceeded quota" in plan.problems[0].message
    assert plan.statefulset is not None and plan.statefulset.action == "hold"


# --- what the status says ----------------------------------------------------------------------


READY = ComponentState(True, "Ready", "StatefulSet litemaas-postgres: 1/1 ready", 1, 1)


@pytest.mark.parametrize(
    ("live_pvc", "status", "reason"),
    [
        (pvc(size="2Gi", capacity="1Gi"), "True", EXPANDING),
        (pvc(size="2Gi", capacity="2Gi"), "False", "NotResizing"),
        (pvc(size="4Gi", capacity="4Gi"), "False", SHRINK_REFUSED),
    ],
)
def test_the_resizing_condition_follows_the_claim(live_pvc, status, reason):
    plan = plan_resize(objects({"size": "2Gi"}), live_of(live_pvc), {}, NAMES)
    cond = resizing_condition(Resize(plan, plan.objects), 3, None)
    assert cond is not None
    assert (cond["type"], cond["status"], cond["reason"]) == ("Resizing", status, reason)
    assert cond["observedGeneration"] == 3
    if status == "True":
        assert DB_PVC in cond["message"] and "2Gi" in cond["message"]


def test_nothing_known_keeps_the_last_condition():
    previous = {"conditions": [{"type": "Resizing", "status": "True", "reason": EXPANDING}]}
    assert resizing_condition(Resize(), 2, previous) == previous["conditions"][0]
    assert resizing_condition(Resize(), 2, None) is None


def test_a_component_growing_a_volume_is_not_ready_until_done():
    plan = plan_resize(
        objects({"size": "2Gi"}), live_of(pvc(size="1Gi")), {"standard": EXPANDABLE}, NAMES
    )
    folded = Resize(plan, plan.objects).fold({"database": READY, "backend": READY})
    assert folded["backend"] == READY
    assert (folded["database"].ready, folded["database"].reason) == (False, EXPANDING)
    assert folded["database"].ready_replicas == 1
    assert Resize().fold({"database": READY}) == {"database": READY}


def test_quantities_read_as_the_kubernetes_package_reads_them() -> None:
    from kubernetes.utils.quantity import parse_quantity

    for text in ("1", "10Gi", "10240Mi", "1.5Gi", "500M", "2T", "100m", "1e3", "0.5Ki", "7E", "1k"):
        assert quantity(text) == parse_quantity(text), text
    for bad in ("", "Gi", "ten", "1Xi", "NaN"):
        with pytest.raises(ValueError):
            quantity(bad)
