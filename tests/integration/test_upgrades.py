"""Guarded upgrades on a real API server: backup first, then backend and frontend, then LiteLLM.

The backup's outcome is driven by the test, which writes the LiteMaaSBackup's status
subresource (Completed or Failed) as the backup controller would; no pg_dump Job has to run.
"Nothing rolled" means what a user would check: every pod template (Deployments and the
PostgreSQL StatefulSet) is as it was, so no new ReplicaSet or pod revision exists.
"""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from harness.waiting import wait_until
from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.render.targets import spec_targets
from litemaas_operator.upgrade.plan import backup_name
from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
on_kubernetes = pytest.mark.parametrize("cluster", ["kubernetes"], indirect=True)

ROOT = Path(__file__).resolve().parents[2]
BACKUP_CRD_FILE = ROOT / "crds" / "litemaas.io_litemaasbackups.yaml"
GROUP, VERSION, BACKUPS = "litemaas.io", "v1alpha1", "litemaasbackups"
OIDC_SECRET = "litemaas-oidc"
WORKLOADS = ("litemaas-backend", "litemaas-frontend", "litemaas-litellm", "litemaas-redis")
NEW_LITELLM = "quay.io/rh-aiservices-bu/litellm-non-root:main-v1.82.0-stable-custom"
# The backup kind's API as the backup controller serves it; used only while its CRD is not in
# crds/ yet, so these tests never wait for that work.
STAND_IN_CRD = f"""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {BACKUPS}.{GROUP}}}
spec:
  group: {GROUP}
  names: {{kind: LiteMaaSBackup, listKind: LiteMaaSBackupList, plural: {BACKUPS},
           singular: litemaasbackup}}
  scope: Namespaced
  versions:
  - name: {VERSION}
    served: true
    storage: true
    subresources: {{status: {{}}}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              instance: {{type: string}}
              reason: {{type: string}}
          status:
            type: object
            properties:
              phase: {{type: string, enum: [Pending, Running, Completed, Failed]}}
              startTime: {{type: string}}
              completionTime: {{type: string}}
              message: {{type: string}}
"""


@pytest.fixture
def backup_crd(cluster: Any) -> None:
    """The backup kinds' CRDs as an install ships them (else a stand-in), before the operator.

    With the real ones, the operator's backup controller may run beside these tests; they
    still decide each backup's outcome themselves.
    """
    apply = ("apply", "--server-side", "--force-conflicts", "-f")
    if BACKUP_CRD_FILE.is_file():
        for crd in sorted(BACKUP_CRD_FILE.parent.glob("litemaas.io_*.yaml")):
            if crd.name != "litemaas.io_litemaases.yaml":
                cluster.kubectl(*apply, str(crd))
    else:
        cluster.kubectl(*apply, "-", input=STAND_IN_CRD)

    def established() -> bool:
        out = cluster.kubectl(
            "get",
            f"crd/{BACKUPS}.{GROUP}",
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Established')].status}",
            check=False,
        )
        return out.returncode == 0 and out.stdout.strip() == "True"

    wait_until(established, 60, what="LiteMaaSBackup CRD Established")


# -- helpers -------------------------------------------------------------------------------------


def create_at(crs: CRs, version: str, **spec: Any) -> dict[str, Any]:
    """The Kubernetes sample at ``version`` (its OIDC Secret made first), Ready."""
    crs.create_secret(OIDC_SECRET, {"client-secret": "oidc-client-secret-value-1234"})
    body = sample("litemaas-kubernetes")
    body["spec"] |= {"version": version, **spec}
    crs.create(body)
    return crs.wait_ready(timeout=120)


def workloads(crs: CRs) -> dict[str, Any]:
    """The pod template of every Deployment and the StatefulSet.

    Not their generations: a Deployment's moves with any change of its annotations too (the
    operator's applied-hash does), which starts no rollout.
    """
    out = {}
    serialize = crs.apps.api_client.sanitize_for_serialization
    for name in WORKLOADS:
        out[name] = serialize(crs.deployment(name).spec.template)
    sts = crs.apps.read_namespaced_stateful_set("litemaas-postgres", crs.namespace)
    out["litemaas-postgres"] = serialize(sts.spec.template)
    return out


def image(crs: CRs, name: str) -> str:
    return crs.deployment(name).spec.template.spec.containers[0].image


def rolled_out(crs: CRs, name: str) -> bool:
    d = crs.deployment(name)
    s = d.status
    want = d.spec.replicas
    return (s.observed_generation or 0) >= d.metadata.generation and (
        (s.updated_replicas or 0) >= want and (s.ready_replicas or 0) >= want
    )


def backups(crs: CRs) -> list[dict[str, Any]]:
    return crs.custom.list_namespaced_custom_object(GROUP, VERSION, crs.namespace, BACKUPS)["items"]


def expected_backup(crs: CRs) -> str:
    """The name the operator gives the pre-upgrade backup of the CR's current spec."""
    spec = LiteMaaSSpec.model_validate((crs.get() or {})["spec"])
    return backup_name("litemaas", spec_targets(spec))


def wait_backup(crs: CRs) -> dict[str, Any]:
    """The pre-upgrade backup, once the operator has created it."""
    name = expected_backup(crs)

    def found() -> dict[str, Any] | None:
        try:
            return crs.custom.get_namespaced_custom_object(
                GROUP, VERSION, crs.namespace, BACKUPS, name
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    return wait_until(found, 60, what=f"LiteMaaSBackup {name}")


def finish_backup(crs: CRs, name: str, phase: str, message: str = "") -> None:
    """Write the backup's outcome on its status, as the backup controller would."""
    status = {"phase": phase, "completionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if message:
        status["message"] = message

    def written() -> bool:
        crs.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, crs.namespace, BACKUPS, name, {"status": status}
        )
        time.sleep(0.5)  # a backup controller running beside us must leave a final phase be
        got = crs.custom.get_namespaced_custom_object(GROUP, VERSION, crs.namespace, BACKUPS, name)
        return (got.get("status") or {}).get("phase") == phase

    wait_until(written, 30, what=f"backup {name} {phase}")


def upgrading(crs: CRs) -> dict[str, Any]:
    return crs.condition("litemaas", "Upgrading") or {}


def event_reasons(crs: CRs) -> list[str]:
    events = crs.core.list_namespaced_event(
        crs.namespace, field_selector="involvedObject.kind=LiteMaaS"
    ).items
    return [e.reason for e in sorted(events, key=lambda e: e.metadata.creation_timestamp)]


def backup_phase(crs: CRs, name: str) -> str:
    got = crs.custom.get_namespaced_custom_object(GROUP, VERSION, crs.namespace, BACKUPS, name)
    return str((got.get("status") or {}).get("phase") or "")


def assert_same(now: dict[str, Any], before: dict[str, Any]) -> None:
    for name, template in before.items():
        assert now[name] == template, f"{name}'s pod template changed"


def assert_nothing_rolled(crs: CRs, before: dict[str, Any]) -> None:
    assert_same(workloads(crs), before)


def assert_held_while_pending(
    crs: CRs, before: dict[str, Any], backup: str, seconds: float = 3.0
) -> None:
    """For ``seconds`` (a few reconciles): while the backup is not Completed, nothing rolls.

    The backup's phase is read after the workloads: still not Completed then, it was not
    Completed when they were read either, whoever completes it (this test, or a backup
    controller running beside the operator).
    """
    deadline, looked = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        cr = crs.get() or {}
        conditions = (cr.get("status") or {}).get("conditions") or []
        held = next((c for c in conditions if c["type"] == "Upgrading"), {})
        now = workloads(crs)
        if backup_phase(crs, backup) == "Completed":
            break
        assert_same(now, before)
        # A status of an older generation (written before a kill) says nothing yet.
        if held.get("observedGeneration") == cr["metadata"]["generation"]:
            assert held["reason"] == "BackingUp", held
        looked += 1
        time.sleep(0.3)
    assert looked, "the backup completed before anything could be checked"


# -- tests ---------------------------------------------------------------------------------------


@on_kubernetes
def test_an_upgrade_backs_up_then_rolls_the_backend_then_litellm(
    backup_crd: None, crs: CRs, operator: OperatorProcess
):
    cr = create_at(crs, "0.5.0")
    assert cr["status"]["version"] == "0.5.0"
    assert upgrading(crs)["status"] == "False"
    assert backups(crs) == [], "a first install is not an upgrade"
    before = workloads(crs)
    old_litellm = image(crs, "litemaas-litellm")

    crs.patch_spec("litemaas", {"version": "0.5.1", "litellm": {"image": NEW_LITELLM}})
    backup = wait_backup(crs)
    assert backup["spec"] == {"instance": "litemaas", "reason": "pre-upgrade"}
    assert "ownerReferences" not in backup["metadata"], "a backup outlives the resource"
    name = backup["metadata"]["name"]
    held = crs.wait_condition("litemaas", "Upgrading", "True")
    assert held["reason"] == "BackingUp" and name in held["message"]
    ready = crs.condition("litemaas", "Ready")
    assert ready["status"] == "False" and "pre-upgrade backup" in ready["message"], ready
    assert crs.get()["status"]["version"] == "0.5.0"
    assert_held_while_pending(crs, before, name)

    # Snapshots until done, the CR read first: a status.version of 0.5.1 must then be backed
    # by every Deployment read after it. Taken from before the backup completes, beside it:
    # the backend may have rolled (kwok starts pods at once) before finish_backup returns.
    snapshots: list[dict[str, Any]] = []

    def snapshot() -> bool:
        cr = crs.get() or {}
        snapshots.append(
            {
                "version": cr["status"].get("version"),
                "backend": image(crs, "litemaas-backend"),
                "backend_done": rolled_out(crs, "litemaas-backend"),
                "frontend": image(crs, "litemaas-frontend"),
                "litellm": image(crs, "litemaas-litellm"),
                "litellm_done": rolled_out(crs, "litemaas-litellm"),
            }
        )
        return cr["status"].get("version") == "0.5.1"

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        sampler = pool.submit(wait_until, snapshot, 120, 0.05, what="status.version 0.5.1")
        finish_backup(crs, name, "Completed")
        sampler.result()
    crs.wait_ready(timeout=60)
    for snap in snapshots:
        if snap["litellm"] == NEW_LITELLM:  # LiteLLM only after the backend runs 0.5.1
            assert snap["backend"].endswith(":0.5.1") and snap["backend_done"], snap
        if snap["version"] == "0.5.1":
            assert snap["litellm"] == NEW_LITELLM and snap["litellm_done"], snap
            assert snap["frontend"].endswith(":0.5.1"), snap
        if snap["backend"].endswith(":0.5.0"):
            assert snap["litellm"] == old_litellm, snap
    assert any(s["backend"].endswith(":0.5.1") and s["litellm"] == old_litellm for s in snapshots)

    done = crs.condition("litemaas", "Upgrading")
    assert (done["status"], done["reason"]) == ("False", "UpToDate")
    reasons = event_reasons(crs)
    for step in ("BackingUp", "RollingBackend", "RollingLiteLLM", "Upgraded"):
        assert step in reasons, reasons
    assert len(backups(crs)) == 1


@on_kubernetes
def test_a_failed_backup_stalls_the_upgrade_and_rolls_nothing(
    backup_crd: None, crs: CRs, operator: OperatorProcess
):
    create_at(crs, "0.5.0")
    before = workloads(crs)

    crs.patch_spec("litemaas", {"version": "0.5.1"})
    name = wait_backup(crs)["metadata"]["name"]
    finish_backup(crs, name, "Failed", "pg_dump: could not connect")
    stalled = crs.wait_condition("litemaas", "Stalled", "True")
    assert stalled["reason"] == "PreUpgradeBackupFailed"
    assert name in stalled["message"] and "pg_dump: could not connect" in stalled["message"]
    cr = crs.get()
    assert cr["status"]["phase"] == "Stalled" and cr["status"]["version"] == "0.5.0"
    time.sleep(2)
    assert_nothing_rolled(crs, before)
    assert "PreUpgradeBackupFailed" in event_reasons(crs)

    # Skipping the backup is the documented way on (docs/upgrade.md).
    crs.patch_spec("litemaas", {"upgrade": {"backupBeforeUpgrade": False}})
    wait_until(
        lambda: (crs.get() or {})["status"].get("version") == "0.5.1", 120, what="0.5.1 running"
    )
    crs.wait_ready(timeout=60)
    assert image(crs, "litemaas-backend").endswith(":0.5.1")


@on_kubernetes
def test_a_downgrade_is_refused_unless_allowed(
    backup_crd: None, crs: CRs, operator: OperatorProcess
):
    create_at(crs, "0.5.1")
    assert backups(crs) == []
    before = workloads(crs)

    crs.patch_spec("litemaas", {"version": "0.5.0"})
    stalled = crs.wait_condition("litemaas", "Stalled", "True")
    assert stalled["reason"] == "DowngradeRefused"
    assert "0.5.1" in stalled["message"] and "allowDowngrade" in stalled["message"]
    time.sleep(2)
    assert_nothing_rolled(crs, before)
    assert backups(crs) == [], "a refused downgrade takes no backup either"
    assert crs.get()["status"]["version"] == "0.5.1"

    crs.patch_spec("litemaas", {"upgrade": {"allowDowngrade": True}})
    name = wait_backup(crs)["metadata"]["name"]
    assert name.startswith("litemaas-pre-upgrade-0.5.0-")
    finish_backup(crs, name, "Completed")
    wait_until(
        lambda: (crs.get() or {})["status"].get("version") == "0.5.0", 120, what="0.5.0 running"
    )
    crs.wait_ready(timeout=60)
    assert image(crs, "litemaas-backend").endswith(":0.5.0")


@on_kubernetes
def test_a_killed_operator_resumes_the_upgrade_where_the_cluster_says(
    backup_crd: None, crs: CRs, operator: OperatorProcess
):
    create_at(crs, "0.5.0")
    before = workloads(crs)
    crs.patch_spec("litemaas", {"version": "0.5.1", "litellm": {"image": NEW_LITELLM}})
    name = wait_backup(crs)["metadata"]["name"]

    # Killed while the backup is pending: the next run takes no second backup, rolls nothing.
    operator.kill()
    operator.start()
    assert_held_while_pending(crs, before, name)
    assert [b["metadata"]["name"] for b in backups(crs)] == [name]

    # Killed again the moment the backend's template moved: the restart carries on from there.
    finish_backup(crs, name, "Completed")
    wait_until(
        lambda: image(crs, "litemaas-backend").endswith(":0.5.1"), 60, 0.05, what="backend rolls"
    )
    operator.kill()
    operator.start()
    wait_until(
        lambda: (crs.get() or {})["status"].get("version") == "0.5.1", 120, what="0.5.1 running"
    )
    crs.wait_ready(timeout=60)
    assert image(crs, "litemaas-litellm") == NEW_LITELLM
    assert [b["metadata"]["name"] for b in backups(crs)] == [name]
    assert (upgrading(crs)["status"], upgrading(crs)["reason"]) == ("False", "UpToDate")
