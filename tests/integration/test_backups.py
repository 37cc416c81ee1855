"""Backups against a real API server: the schedule, Jobs, statuses, retention and failures.

kwok completes a Job's pod without running it (the dump scripts run on a real PostgreSQL in
tests/postgres/): these tests check the controller side. A failed dump is simulated by writing
the pod's status as a kubelet would (phase Failed, exit code 1, a termination message) on a
pod kwok never touches, one whose volume cannot bind; the real Job controller then fails the Job.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.waiting import wait_until
from litemaas_operator.api import cron
from support.backups import BACKUPS, Backups
from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
on_openshift = pytest.mark.parametrize("cluster", ["openshift"], indirect=True)


@pytest.fixture
def b(crs: CRs, operator: OperatorProcess) -> Iterator[Backups]:
    """Backup helpers; every backup is deleted (and pruned) before the operator stops."""
    helper = Backups(crs)
    yield helper
    if operator.alive():
        helper.remove_all()


def with_backup(**backup: Any) -> dict[str, Any]:
    body = sample("litemaas-cr")
    body["spec"]["backup"] = backup
    return body


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@on_openshift
def test_the_schedule_creates_backups_that_complete_and_resumes_after_a_restart(
    crs: CRs, b: Backups, operator: OperatorProcess, namespace: str
):
    crs.create(with_backup(schedule="* * * * *"))
    crs.wait_ready()
    created = parse(crs.get()["metadata"]["creationTimestamp"])

    # The first slot after the resource was created (at most a minute away).
    first = wait_until(
        lambda: next((x for x in b.list() if x["spec"].get("reason") == "scheduled"), None),
        75,
        what="a scheduled LiteMaaSBackup",
    )
    name = first["metadata"]["name"]
    slot = cron.next_after("* * * * *", created)
    assert name == f"litemaas-{slot:%Y%m%d%H%M}"
    done = b.wait_phase(BACKUPS, name, "Completed", timeout=60)
    status = done["status"]
    assert status["files"] == [f"{name}/litemaas_db.dump", f"{name}/litellm_db.dump"]
    assert status["startTime"] and status["completionTime"]
    job = b.job_for(name)
    assert job is not None and job.metadata.owner_references[0].kind == "LiteMaaSBackup"
    assert job.metadata.owner_references[0].name == name
    # The backup volume: created, and retained like the data (no ownerReference).
    claim = crs.core.read_namespaced_persistent_volume_claim("litemaas-db-backups", namespace)
    assert claim.metadata.labels["litemaas.io/retain-on-delete"] == "true"
    assert not claim.metadata.owner_references

    # The LiteMaaS status names it, and says when the next one is due.
    def reported() -> dict[str, Any] | None:
        st = crs.get()["status"]
        return (
            st if (st.get("backup") or {}).get("lastSuccessful", {}).get("name") == name else None
        )

    st = wait_until(reported, 30, what="status.backup.lastSuccessful")
    ready = crs.condition("litemaas", "BackupReady")
    assert (ready["status"], ready["reason"]) == ("True", "BackupSucceeded")
    newest = parse(done["metadata"]["creationTimestamp"])
    expected_next = cron.next_after("* * * * *", newest)
    assert parse(st["backup"]["nextScheduled"]) == expected_next
    assert crs.condition("litemaas", "Ready")["status"] == "True"
    events = b.events(name)
    assert ("Normal", "BackupStarted") in [(t, r) for t, r, _ in events]
    assert ("Normal", "BackupCompleted") in [(t, r) for t, r, _ in events]

    # SIGKILL and back: the schedule is read again from the cluster, nothing is repeated.
    operator.kill()
    operator.start()
    time.sleep(3)
    names = [x["metadata"]["name"] for x in b.list()]
    assert names.count(name) == 1
    if datetime.now(UTC) < expected_next - timedelta(seconds=2):
        assert [n for n in names if n != name] == [], names  # nothing before the next slot
    assert parse(crs.get()["status"]["backup"]["nextScheduled"]) >= expected_next


@on_openshift
def test_retention_deletes_old_backups_and_their_files(
    crs: CRs, b: Backups, operator: OperatorProcess, namespace: str
):
    crs.create(with_backup(retention={"count": 2}))
    crs.wait_ready()
    for name in ("b1", "b2", "b3"):
        b.backup(name)
        b.wait_phase(BACKUPS, name, "Completed")
        time.sleep(1.1)  # creationTimestamps have whole seconds: keep the order unambiguous
    # b1 is beyond the count: deleted, held by the finalizer until a prune Job removed its
    # directory, then gone.
    b.wait_gone(BACKUPS, "b1", timeout=60)
    assert {x["metadata"]["name"] for x in b.list()} == {"b2", "b3"}
    reasons = [(r, m) for _, r, m in b.events("litemaas") if r == "BackupsExpired"]
    assert reasons and "b1" in reasons[0][1]

    # Deleting a backup by hand prunes its files the same way.
    b.delete(BACKUPS, "b2")

    def held() -> bool:
        obj = b.get(BACKUPS, "b2")
        return obj is None or "litemaas.io/backup-files" in obj["metadata"].get("finalizers", [])

    assert held()
    b.wait_gone(BACKUPS, "b2", timeout=60)
    assert [x["metadata"]["name"] for x in b.list()] == ["b3"]
    # The newest completed backup is never deleted by retention.
    assert crs.get()["status"]["backup"]["lastSuccessful"]["name"] == "b3"


@on_openshift
def test_a_failed_backup_warns_and_never_blocks_serving(
    crs: CRs, b: Backups, operator: OperatorProcess, namespace: str
):
    # No such StorageClass: the backup volume stays Pending and the Job's pod is never
    # scheduled, so kwok leaves it for the test to fail.
    crs.create(with_backup(volume={"storageClassName": "no-such-class"}))
    crs.wait_ready()
    b.backup("broken")
    job = wait_until(lambda: b.job_for("broken"), 30, what="the backup Job")
    b.fail_pod(job.metadata.name, "pg_dump: error: connection to server failed")

    failed = b.wait_phase(BACKUPS, "broken", "Failed", timeout=60)
    message = failed["status"]["message"]
    assert "BackoffLimitExceeded" in message and "pg_dump: error" in message
    assert failed["status"]["completionTime"]
    warnings = [(r, m) for t, r, m in b.events("broken") if t == "Warning"]
    assert warnings and warnings[0][0] == "BackupFailed"

    def reported() -> dict[str, Any] | None:
        cond = crs.condition("litemaas", "BackupReady")
        return cond if cond and cond["reason"] == "BackupFailed" else None

    cond = wait_until(reported, 30, what="BackupReady BackupFailed")
    assert cond["status"] == "False" and "broken" in cond["message"]
    assert ("Warning", "BackupFailed") in [(t, r) for t, r, _ in b.events("litemaas")]
    cr = crs.get()
    assert cr["status"]["backup"]["lastFailed"]["name"] == "broken"
    # Serving is untouched: Ready, and every writer still runs.
    assert crs.condition("litemaas", "Ready")["status"] == "True"
    assert cr["status"]["phase"] == "Ready"
    for deployment in ("litemaas-backend", "litemaas-litellm", "litemaas-redis"):
        assert b.replicas(deployment) == 1


@on_openshift
def test_backups_of_an_external_database_fail_with_the_reason(
    crs: CRs, b: Backups, operator: OperatorProcess
):
    crs.create_secret(
        "ext-db",
        {
            "litemaas-database-url": "postgresql://u:p@db.example.com:5432/litemaas_db",
            "litellm-database-url": "postgresql://u:p@db.example.com:5432/litellm_db",
        },
    )
    body = sample("litemaas-cr")
    body["spec"]["database"] = {"mode": "external", "external": {"secretName": "ext-db"}}
    crs.create(body)
    b.backup("ext")
    failed = b.wait_phase(BACKUPS, "ext", "Failed", timeout=60)
    assert "external database" in failed["status"]["message"]
    assert b.jobs() == []


@on_openshift
def test_the_api_server_checks_backups_restores_and_schedules(
    crs: CRs, b: Backups, operator: OperatorProcess
):
    from kubernetes.client.exceptions import ApiException

    def refused(plural: str, kind: str, spec: dict[str, Any]) -> str:
        with pytest.raises(ApiException) as err:
            crs.custom.create_namespaced_custom_object(
                "litemaas.io",
                "v1alpha1",
                crs.namespace,
                plural,
                {"apiVersion": "litemaas.io/v1alpha1", "kind": kind, "metadata": {"name": "x"},
                 "spec": spec},
            )  # fmt: skip
        assert err.value.status == 422
        return str(err.value.body)

    assert "spec.instance" in refused(BACKUPS, "LiteMaaSBackup", {"reason": "manual"})
    assert "spec.reason" in refused(BACKUPS, "LiteMaaSBackup", {"instance": "a", "reason": "A B"})
    assert "spec.backup" in refused("litemaasrestores", "LiteMaaSRestore", {"instance": "a"})
    # A backup is a record: its spec cannot be changed afterwards.
    b.backup("record", instance="elsewhere")
    with pytest.raises(ApiException) as err:
        crs.custom.patch_namespaced_custom_object(
            "litemaas.io", "v1alpha1", crs.namespace, BACKUPS, "record",
            {"spec": {"instance": "other"}},
        )  # fmt: skip
    assert err.value.status == 422 and "immutable" in str(err.value.body)
    # A schedule that is not five fields is refused by the API server; one with a value out of
    # range passes the schema's pattern and is reported by the operator, naming the field.
    bad = with_backup(schedule="every day")
    with pytest.raises(ApiException) as err:
        crs.create(bad)
    assert err.value.status == 422 and "spec.backup.schedule" in str(err.value.body)
    crs.create(with_backup(schedule="0 25 * * *"))
    stalled = crs.wait_condition("litemaas", "Stalled", "True", timeout=30)
    assert stalled["reason"] == "InvalidSpec"
    assert "spec.backup.schedule" in stalled["message"] and "0-23" in stalled["message"]
