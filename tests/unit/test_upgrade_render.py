"""The renderer under an upgrade plan, and how the controller reads a Deployment back.

The plan's pins reach the manifests (a held backend renders exactly as before); without a plan
``render`` renders the spec's version everywhere; a Deployment's recorded pin tells an upgrade
not rolled yet from an image someone edited.
"""

from __future__ import annotations

import copy
from typing import Any

from rendering import render

from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.controller.conditions import ComponentState
from litemaas_operator.controller.upgrades import (
    announcement,
    backup_manifest,
    deployed,
    fold,
    upgrading_condition,
)
from litemaas_operator.facts import Instance
from litemaas_operator.render.names import RETAIN_LABEL
from litemaas_operator.render.pods import LITELLM_IMAGE, litemaas_image
from litemaas_operator.render.targets import IMAGE_ANNOTATION, spec_targets
from litemaas_operator.upgrade.plan import UpgradePlan, Upgrading
from litemaas_operator.upgrade.targets import Pin, Targets

VERSION_LABEL = "app.kubernetes.io/version"


def deployments(state: Any) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in state.by_kind("Deployment")}


def main_image(deployment: dict[str, Any]) -> str:
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def test_without_a_plan_every_workload_renders_the_spec_version():
    state = render({"version": "0.5.1"})
    found = deployments(state)
    backend, frontend = found["litemaas-backend"], found["litemaas-frontend"]
    assert main_image(backend) == litemaas_image("backend", "0.5.1")
    assert main_image(frontend) == litemaas_image("frontend", "0.5.1")
    for deployment in (backend, frontend):
        assert deployment["metadata"]["labels"][VERSION_LABEL] == "0.5.1"
        assert deployment["spec"]["template"]["metadata"]["labels"][VERSION_LABEL] == "0.5.1"
        assert deployment["metadata"]["annotations"][IMAGE_ANNOTATION] == main_image(deployment)
    assert found["litemaas-litellm"]["metadata"]["labels"][VERSION_LABEL] == "0.5.1"


def test_a_held_plan_renders_the_workloads_exactly_as_before_the_version_change():
    before = deployments(render({"version": "0.5.0"}))
    held = spec_targets(LiteMaaSSpec.model_validate({"version": "0.5.0"}))
    during = deployments(render({"version": "0.5.1"}, rollout=held))
    for name in ("litemaas-backend", "litemaas-frontend", "litemaas-litellm", "litemaas-redis"):
        assert during[name]["spec"] == before[name]["spec"], name
    statefulsets = [render({"version": v}).by_kind("StatefulSet")[0] for v in ("0.5.0", "0.5.1")]
    assert statefulsets[0]["spec"] == statefulsets[1]["spec"], "PostgreSQL must not roll"


def test_the_backend_can_move_while_litellm_keeps_its_image():
    new_litellm = "quay.io/rh-aiservices-bu/litellm-non-root:main-v1.82.0-stable-custom"
    spec = {"version": "0.5.1", "litellm": {"image": new_litellm}}
    desired = spec_targets(LiteMaaSSpec.model_validate(spec))
    plan = Targets(desired.backend, desired.frontend, Pin("0.5.0", LITELLM_IMAGE))
    found = deployments(render(spec, rollout=plan))
    assert main_image(found["litemaas-backend"]) == litemaas_image("backend", "0.5.1")
    assert main_image(found["litemaas-litellm"]) == LITELLM_IMAGE


def test_only_litemaas_pods_carry_the_litemaas_version():
    state = render({"version": "0.5.1"})
    templates = {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
        for o in state.objects
        if o["kind"] in ("Deployment", "StatefulSet")
    }
    for name in ("litemaas-postgres", "litemaas-redis", "litemaas-litellm"):
        assert VERSION_LABEL not in templates[name], name
    assert templates["litemaas-backend"][VERSION_LABEL] == "0.5.1"


def live(deployment: dict[str, Any], *, ready: bool = True) -> dict[str, Any]:
    """A rendered Deployment as the API server would return it, rolled out (or not)."""
    obj = copy.deepcopy(deployment)
    obj["metadata"]["generation"] = 2
    replicas = obj["spec"]["replicas"]
    obj["status"] = {
        "observedGeneration": 2,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas if ready else 0,
        "availableReplicas": replicas if ready else 0,
    }
    return obj


def test_a_deployment_reads_back_as_the_pin_it_was_rendered_with():
    backend = deployments(render({"version": "0.5.0"}))["litemaas-backend"]
    found = deployed(live(backend), "backend")
    assert found.pin == Pin("0.5.0", litemaas_image("backend", "0.5.0"))
    assert found.rolled_out
    assert not deployed(live(backend, ready=False), "backend").rolled_out


def test_an_edited_image_is_drift_not_an_upgrade_in_progress():
    backend = live(deployments(render({"version": "0.5.0"}))["litemaas-backend"])
    backend["spec"]["template"]["spec"]["containers"][0]["image"] = "quay.io/evil/backend:6.6.6"
    found = deployed(backend, "backend")
    assert found.pin == Pin("0.5.0", litemaas_image("backend", "0.5.0")), "the record wins"
    assert not found.rolled_out, "and it does not run it"


def test_a_deployment_from_before_the_record_falls_back_to_its_template():
    backend = live(deployments(render({"version": "0.5.0"}))["litemaas-backend"])
    del backend["metadata"]["annotations"][IMAGE_ANNOTATION]
    assert deployed(backend, "backend").pin == Pin("0.5.0", litemaas_image("backend", "0.5.0"))


def test_the_backend_reads_not_ready_while_an_upgrade_is_under_way():
    components = {"backend": ComponentState(True, "Ready", "1/1 ready", 1, 1)}
    targets = spec_targets(LiteMaaSSpec())
    busy = UpgradePlan(targets, Upgrading(True, "BackingUp", "waiting for backup b"), "0.5.0")
    held = fold(components, busy)["backend"]
    assert (held.ready, held.reason, held.message) == (False, "BackingUp", "waiting for backup b")
    done = UpgradePlan(targets, Upgrading(False, "UpToDate", "running 0.5.0"), "0.5.0")
    assert fold(components, done) == components


def test_the_pre_upgrade_backup_outlives_the_resource():
    backup = backup_manifest(Instance("litemaas", "team-a"), "litemaas-pre-upgrade-0.5.1-abc123")
    assert backup["spec"] == {"instance": "litemaas", "reason": "pre-upgrade"}
    assert "ownerReferences" not in backup["metadata"]
    assert backup["metadata"]["labels"][RETAIN_LABEL] == "true"


def test_each_step_of_an_upgrade_is_announced_once():
    def step(active: bool, reason: str) -> Upgrading:
        return Upgrading(active, reason, f"{reason} message")

    installed = {"status": "False", "reason": "Installing"}
    assert announcement(installed, step(False, "UpToDate")) is None, "a first install is quiet"
    assert announcement({}, step(False, "UpToDate")) is None
    up_to_date = {"status": "False", "reason": "UpToDate"}
    assert announcement(up_to_date, step(True, "BackingUp")) == ("Normal", "BackingUp")
    backing_up = {"status": "True", "reason": "BackingUp"}
    assert announcement(backing_up, step(True, "BackingUp")) is None, "said once"
    assert announcement(backing_up, step(True, "RollingBackend")) == ("Normal", "RollingBackend")
    rolling = {"status": "True", "reason": "RollingLiteLLM"}
    assert announcement(rolling, step(False, "UpToDate")) == ("Normal", "Upgraded")
    refused = step(False, "DowngradeRefused")
    assert announcement(up_to_date, refused) == ("Warning", "DowngradeRefused")
    failed = step(False, "PreUpgradeBackupFailed")
    assert announcement(backing_up, failed) == ("Warning", "PreUpgradeBackupFailed")


def test_the_upgrading_condition_keeps_its_transition_time_until_it_flips():
    old = {"status": "True", "reason": "BackingUp", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    same = upgrading_condition(Upgrading(True, "RollingBackend", "rolling"), 3, old)
    assert same["lastTransitionTime"] == old["lastTransitionTime"]
    assert (same["type"], same["status"], same["observedGeneration"]) == ("Upgrading", "True", 3)
    flipped = upgrading_condition(Upgrading(False, "UpToDate", "running 0.5.1"), 3, old)
    assert flipped["status"] == "False"
    assert flipped["lastTransitionTime"] != old["lastTransitionTime"]
