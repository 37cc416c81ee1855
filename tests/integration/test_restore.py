"""Restores against a real API server: writers stopped, the restore Job, writers started again,
and the same outcome when the operator is SIGKILLed at any step.

kwok completes the restore Job's pod without running it (the restore script runs on a real
PostgreSQL in tests/postgres/); the Deployments really scale down and up (kube-controller-
manager), and the operator's part is all real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.waiting import wait_until
from support.backups import BACKUPS, RESTORES, Backups
from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
on_openshift = pytest.mark.parametrize("cluster", ["openshift"], indirect=True)
WRITERS = ("litemaas-backend", "litemaas-litellm", "litemaas-redis")


@pytest.fixture
def b(crs: CRs, operator: OperatorProcess) -> Iterator[Backups]:
    """Backup helpers; every backup and restore is deleted before the operator stops."""
    helper = Backups(crs)
    yield helper
    if not operator.alive():
        operator.start()
    helper.remove_all()


def ready_with_a_backup(crs: CRs, b: Backups, name: str = "before") -> None:
    crs.create(sample("litemaas-cr"))
    crs.wait_ready()
    b.backup(name)
    b.wait_phase(BACKUPS, name, "Completed")


def writers_stopped(crs: CRs, b: Backups) -> bool:
    """Every writer Deployment asks for 0 replicas and has no pod left."""
    for name in WRITERS:
        deployment = crs.deployment(name)
        if deployment.spec.replicas != 0 or (deployment.status.replicas or 0) != 0:
            return False
    return True


@on_openshift
def test_restore_stops_the_writers_restores_and_starts_them_again(
    crs: CRs, b: Backups, operator: OperatorProcess
):
    ready_with_a_backup(crs, b)
    b.restore("undo", "before")

    # Watch it go: what the LiteMaaS status said, and the writers when the Job first appeared.
    seen: set[tuple[str, str, str]] = set()
    job = None
    deadline = time.monotonic() + 90
    while b.phase(RESTORES, "undo") != "Completed":
        assert time.monotonic() < deadline, f"restore not Completed: {b.get(RESTORES, 'undo')}"
        restoring, ready = (
            crs.condition("litemaas", "Restoring"),
            crs.condition("litemaas", "Ready"),
        )
        if restoring and ready:
            seen.add((restoring["status"], ready["status"], ready["reason"]))
        if job is None and (job := b.job_for("undo")) is not None:
            # The writers went to 0 (rendered so) before the restore Job was created.
            assert writers_stopped(crs, b), "the restore Job started before the writers were down"
            assert crs.deployment("litemaas-frontend").spec.replicas == 1  # not a writer
        time.sleep(0.05)
    assert job is not None
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["BACKUP_NAME"] == "before"
    assert job.metadata.owner_references[0].kind == "LiteMaaSRestore"
    # While the writers were stopped: Restoring True, and not Ready (LiteMaaS cannot serve).
    assert ("True", "False", "StoppedForRestore") in seen, seen

    done = b.wait_phase(RESTORES, "undo", "Completed", timeout=90)
    assert done["status"]["startTime"] and done["status"]["completionTime"]
    for name in WRITERS:
        assert b.replicas(name) == 1, name
    crs.wait_ready(timeout=60)
    cond = crs.condition("litemaas", "Restoring")
    assert (cond["status"], cond["reason"]) == ("False", "RestoreCompleted")
    reasons = [r for _, r, _ in b.events("undo")]
    for reason in ("StoppingWriters", "RestoreStarted", "StartingWriters", "RestoreCompleted"):
        assert reason in reasons, reasons
    assert reasons.index("StoppingWriters") < reasons.index("RestoreStarted")


@on_openshift
def test_a_restore_resumes_after_sigkill_at_each_step(
    crs: CRs, b: Backups, operator: OperatorProcess
):
    ready_with_a_backup(crs, b)
    b.restore("undo", "before")

    # Killed as soon as the writers are being stopped, before any restore Job exists.
    wait_until(lambda: b.phase(RESTORES, "undo") == "ScalingDown", 30, 0.05, what="ScalingDown")
    operator.kill()
    assert b.job_for("undo") is None
    # While it is down the Deployments finish scaling to 0 (kube-controller-manager's work).
    wait_until(lambda: writers_stopped(crs, b), 30, what="writers at 0 while the operator is down")

    # Back: it reads the phase and the Deployments, and starts the Job; killed again at once.
    operator.start()
    wait_until(lambda: b.job_for("undo"), 30, 0.05, what="the restore Job after the restart")
    operator.kill()
    # kwok completes the Job while nobody watches: the Job is the record of what happened.
    wait_until(
        lambda: (b.job_for("undo").status.succeeded or 0) >= 1, 30, what="restore Job Complete"
    )
    assert b.phase(RESTORES, "undo") in ("ScalingDown", "Restoring")
    assert writers_stopped(crs, b)

    operator.start()
    b.wait_phase(RESTORES, "undo", "Completed", timeout=90)
    for name in WRITERS:
        assert b.replicas(name) == 1, name
    crs.wait_ready(timeout=60)
    assert len(b.jobs("restore")) == 1  # one restore Job, however often it was killed


@on_openshift
def test_a_restore_that_cannot_run_fails_without_touching_the_writers(
    crs: CRs, b: Backups, operator: OperatorProcess
):
    crs.create(sample("litemaas-cr"))
    crs.wait_ready()
    b.restore("nothing", "no-such-backup")
    failed = b.wait_phase(RESTORES, "nothing", "Failed", timeout=30)
    assert "no-such-backup not found" in failed["status"]["message"]
    assert b.jobs("restore") == []
    for name in WRITERS:
        assert b.replicas(name) == 1, name
    assert ("Warning", "RestoreFailed") in [(t, r) for t, r, _ in b.events("litemaas")]
    cond = wait_until(lambda: crs.condition("litemaas", "Restoring"), 30, what="Restoring")
    assert (cond["status"], cond["reason"]) == ("False", "RestoreFailed")
    assert crs.condition("litemaas", "Ready")["status"] == "True"
