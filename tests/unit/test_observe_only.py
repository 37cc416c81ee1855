"""When a child's news needs only observing, and when it still needs a whole reconcile."""

from __future__ import annotations

import copy
from typing import Any

from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.controller.acted import Acted, is_quiet
from litemaas_operator.controller.backups import BackupController
from litemaas_operator.controller.registry import Registry
from litemaas_operator.controller.relevance import OBJECT, STATUS, fingerprint, wakes
from litemaas_operator.controller.upgrades import replan
from litemaas_operator.controller.volumes import Resize
from litemaas_operator.facts import Instance
from litemaas_operator.render.pods import LITELLM_IMAGE, litemaas_image
from litemaas_operator.upgrade.plan import Deployed, PlanInput, UpgradePlan, plan
from litemaas_operator.upgrade.targets import Pin


def deployment(ready: int, replicas: int = 1) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "lm-backend", "namespace": "ns", "generation": 1, "labels": {}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": []}}},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": ready,
            "availableReplicas": ready,
        },
    }


def claim(phase: str) -> dict[str, Any]:
    return {
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "lm-db", "namespace": "ns", "labels": {}},
        "spec": {"resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": phase},
    }


def test_a_workload_becoming_ready_needs_observing_only() -> None:
    before, after = (
        fingerprint("Deployment", deployment(0)),
        fingerprint("Deployment", deployment(1)),
    )
    assert wakes("Deployment", before, after) == STATUS
    assert wakes("Deployment", after, after) is None


def test_a_changed_spec_appearing_going_or_an_acted_on_status_needs_a_whole_reconcile() -> None:
    ready = fingerprint("Deployment", deployment(1))
    scaled = fingerprint("Deployment", deployment(1, replicas=3))
    assert wakes("Deployment", ready, scaled) == OBJECT  # drift
    both = fingerprint("Deployment", deployment(0, replicas=3))
    assert wakes("Deployment", ready, both) == OBJECT
    assert wakes("Deployment", None, ready) == OBJECT and wakes("Deployment", ready, None) == OBJECT
    # A Job's status: a backup or a password change under way.
    job = {"kind": "Job", "metadata": {"name": "j"}, "spec": {}, "status": {}}
    done = copy.deepcopy(job) | {"status": {"succeeded": 1}}
    assert wakes("Job", fingerprint("Job", job), fingerprint("Job", done)) == OBJECT


def test_a_claim_binding_needs_observing_only_and_the_binders_notes_nothing() -> None:
    pending = claim("Pending")
    noted = copy.deepcopy(pending)
    noted["metadata"]["annotations"] = {
        "volume.kubernetes.io/storage-provisioner": "csi.example",
        "pv.kubernetes.io/bind-completed": "yes",
    }
    noted["spec"]["volumeName"] = "pvc-0123"
    assert (
        wakes(
            "PersistentVolumeClaim",
            *(fingerprint("PersistentVolumeClaim", o) for o in (pending, noted)),
        )
        is None
    )
    bound = copy.deepcopy(noted) | {"status": {"phase": "Bound"}}
    assert (
        wakes(
            "PersistentVolumeClaim",
            *(fingerprint("PersistentVolumeClaim", o) for o in (noted, bound)),
        )
        == STATUS
    )
    # One of the operator's own annotations changed by someone else is drift.
    ours = copy.deepcopy(bound)
    ours["metadata"]["annotations"]["litemaas.io/applied-hash"] = "x"
    assert (
        wakes(
            "PersistentVolumeClaim",
            *(fingerprint("PersistentVolumeClaim", o) for o in (bound, ours)),
        )
        == OBJECT
    )


def test_a_deployments_revision_number_wakes_nothing() -> None:
    first, revised = deployment(0), deployment(0)
    revised["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    assert (
        wakes("Deployment", fingerprint("Deployment", first), fingerprint("Deployment", revised))
        is None
    )


def test_a_pod_getting_stuck_needs_observing_only() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "status": {"conditions": [{"type": "PodScheduled", "status": "False"}]},
    }
    stuck = copy.deepcopy(pod)
    stuck["status"]["conditions"][0]["reason"] = "Unschedulable"
    assert wakes("Pod", fingerprint("Pod", pod), fingerprint("Pod", stuck)) == STATUS
    assert wakes("Pod", None, fingerprint("Pod", stuck)) == STATUS  # appeared stuck
    assert wakes("Pod", fingerprint("Pod", stuck), None) == STATUS  # a stuck pod went


def test_one_poke_for_the_whole_reconcile_outweighs_any_number_for_observing() -> None:
    registry = Registry()
    key = ("ns", "lm")
    trigger = registry.trigger(key)
    registry.poke(key, whole=False)
    assert trigger.is_set() and not registry.take(key)
    registry.poke(key, whole=False)
    registry.poke(key)
    registry.poke(key, whole=False)
    assert registry.take(key)
    assert not registry.take(key), "taken once"
    registry.poke(("ns", "other"))  # a CR this process does not run: nothing kept
    assert not registry.take(("ns", "other"))


def at(version: str, rolled_out: bool) -> dict[str, Deployed]:
    return {
        "backend": Deployed(Pin(version, litemaas_image("backend", version)), rolled_out),
        "frontend": Deployed(Pin(version, litemaas_image("frontend", version)), rolled_out),
        "litellm": Deployed(Pin(version, LITELLM_IMAGE), rolled_out),
    }


def inputs(version: str, deployed: dict[str, Deployed], reported: str | None) -> PlanInput:
    return PlanInput(
        "lm", LiteMaaSSpec.model_validate({"version": version}), deployed, None, reported
    )


def test_an_install_rolling_out_stays_on_course_and_reports_its_version_when_done() -> None:
    installing = plan(inputs("0.5.0", at("0.5.0", rolled_out=False), None))
    again = replan(installing, inputs("0.5.0", at("0.5.0", rolled_out=True), None))
    assert again is not None
    assert (again.upgrading.reason, again.running_version) == ("UpToDate", "0.5.0")


def test_an_upgrade_under_way_or_a_plan_that_moves_needs_a_whole_reconcile() -> None:
    upgrading = plan(inputs("0.5.1", at("0.5.0", rolled_out=True), "0.5.0"))
    assert upgrading.backup_to_create is not None  # the pre-upgrade backup first
    assert replan(upgrading, inputs("0.5.1", at("0.5.0", rolled_out=True), "0.5.0")) is None
    # Quiet before, but the children now ask for another move (the spec's targets differ).
    settled = plan(inputs("0.5.0", at("0.5.0", rolled_out=True), "0.5.0"))
    assert replan(settled, inputs("0.5.1", at("0.5.0", rolled_out=True), "0.5.0")) is None


def acted(upgrade: UpgradePlan, **changes: Any) -> Acted:
    fields: dict[str, Any] = {
        "uid": "u1",
        "generation": 2,
        "served": frozenset(),
        "platform": "openshift",
        "mode": "serviceaccount",
        "oauth_client_rendered": False,
        "problems": [],
        "apply_errors": [],
        "endpoints": None,
        "upgrade": upgrade,
        "backups": None,
        "resize": Resize(),
        "quiet": True,
    }
    return Acted(**(fields | changes))


def test_observing_stands_in_only_for_the_same_cr_generation_and_before_anything_is_due() -> None:
    quiet = plan(inputs("0.5.0", at("0.5.0", rolled_out=True), "0.5.0"))
    assert acted(quiet).observable("u1", 2, now=100.0)
    assert not acted(quiet).observable("u2", 2, now=100.0), "a namesake CR"
    assert not acted(quiet).observable("u1", 3, now=100.0), "a new spec"
    assert not acted(quiet, quiet=False).observable("u1", 2, now=100.0)
    due = acted(quiet, due_at=150.0)
    assert due.observable("u1", 2, now=100.0) and due.due_in(100.0) == 50.0
    assert not due.observable("u1", 2, now=150.0), "a scheduled backup is due"


def test_anything_under_way_makes_a_reconcile_not_quiet() -> None:
    upgrade = plan(inputs("0.5.0", at("0.5.0", rolled_out=True), "0.5.0"))
    spec = LiteMaaSSpec.model_validate({"version": "0.5.0"})
    backups = BackupController(None, {}, spec, Instance("lm", "ns"), "openshift")  # type: ignore[arg-type]
    assert is_quiet(upgrade, backups, Resize(), [], rotating=False)
    assert not is_quiet(upgrade, backups, Resize(), ["Deployment x refused"], rotating=False)
    assert not is_quiet(upgrade, backups, Resize(), [], rotating=True)
    assert not is_quiet(upgrade, backups, Resize(done=["PVC grown"]), [], rotating=False)
    backups.unfinished = True  # a backup or restore running
    assert not is_quiet(upgrade, backups, Resize(), [], rotating=False)
    backups.unfinished, backups.stop = False, "r1"  # writers stopped for a restore
    assert not is_quiet(upgrade, backups, Resize(), [], rotating=False)
    backups.stop, backups.error = None, "Forbidden"
    assert not is_quiet(upgrade, backups, Resize(), [], rotating=False)
    upgrading = plan(inputs("0.5.1", at("0.5.0", rolled_out=True), "0.5.0"))
    backups.error = None
    assert not is_quiet(upgrading, backups, Resize(), [], rotating=False)
