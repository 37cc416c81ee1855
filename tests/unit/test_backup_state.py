"""Backup and restore decisions: schedule math, retention, and the steps of a backup and a
restore, each decided from what the cluster shows (no memory between reconciles)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from litemaas_operator.api.backup import Retention
from litemaas_operator.controller import backup_state as st

T0 = datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)


def backup(name: str, minutes_ago: float, phase: str | None = "Completed", **kw) -> st.Backup:
    return st.Backup(name=name, created=T0 - timedelta(minutes=minutes_ago), phase=phase, **kw)


def rule(**fields) -> Retention:
    """A retention as written in a CR (camelCase, as the API server hands it over)."""
    return Retention.model_validate(fields)


def job(name: str = "j", *, complete: bool = False, failed: bool = False) -> st.JobState:
    conditions = []
    if complete:
        conditions.append({"type": "Complete", "status": "True"})
    if failed:
        conditions.append(
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
                "lastTransitionTime": "2026-03-01T10:00:00Z",
            }
        )
    return st.JobState.of(
        {
            "metadata": {"name": name, "creationTimestamp": "2026-03-01T09:59:00Z"},
            "status": {"conditions": conditions, "startTime": "2026-03-01T09:59:01Z"},
        }
    )


# ---- schedule ---------------------------------------------------------------------------


def test_first_backup_is_due_one_slot_after_the_instance_was_created() -> None:
    created = datetime(2026, 3, 1, 9, 58, 10, tzinfo=UTC)
    assert st.due_backup("* * * * *", [], created, T0) == datetime(2026, 3, 1, 9, 59, tzinfo=UTC)
    assert st.due_backup("0 2 * * *", [], created, T0) is None
    assert st.next_scheduled("0 2 * * *", [], created) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_the_newest_backup_of_any_reason_is_the_base() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    backups = [backup("old", 600), backup("by-hand", 0.2, reason="manual")]
    # A backup taken 12 s ago: the next every-minute slot is in the future.
    assert st.due_backup("* * * * *", backups, created, T0) is None
    assert st.next_scheduled("* * * * *", backups, created) == datetime(
        2026, 3, 1, 10, 1, tzinfo=UTC
    )


def test_missed_slots_give_one_backup_not_one_per_slot() -> None:
    # The operator was down for five hours: one backup now, then back on schedule.
    backups = [backup("last", 5 * 60)]
    slot = st.due_backup("0 * * * *", backups, T0, T0)
    assert slot == datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    taken = [*backups, st.Backup(st.scheduled_name("litemaas", slot), T0)]
    assert st.due_backup("0 * * * *", taken, T0, T0) is None
    assert st.next_scheduled("0 * * * *", taken, T0) == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)


def test_scheduled_names_are_stable_per_slot() -> None:
    slot = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert st.scheduled_name("litemaas", slot) == "litemaas-202603010200"
    # The same slot after a restart: the same name, so a second create is a harmless conflict.
    assert st.scheduled_name("litemaas", slot.replace(second=59)) == "litemaas-202603010200"


# ---- retention --------------------------------------------------------------------------


def test_count_keeps_the_newest_completed() -> None:
    backups = [backup(f"b{i}", 60 * (5 - i)) for i in range(5)]  # b4 is the newest
    assert st.expired(backups, Retention(count=2), scheduled=True, now=T0) == ["b0", "b1", "b2"]


def test_max_age_deletes_old_backups_but_never_the_newest_completed() -> None:
    backups = [backup("ancient", 60 * 24 * 40), backup("old", 60 * 24 * 31)]
    assert st.expired(backups, rule(maxAge="30d"), scheduled=True, now=T0) == ["ancient"]
    backups.append(backup("fresh", 10))
    assert st.expired(backups, rule(maxAge="30d"), scheduled=True, now=T0) == [
        "ancient",
        "old",
    ]


def test_both_rules_apply() -> None:
    backups = [backup("b0", 60 * 24 * 10), backup("b1", 60 * 24 * 2), backup("b2", 60)]
    assert st.expired(backups, rule(count=3, maxAge="7d"), scheduled=False, now=T0) == ["b0"]


def test_unfinished_deleting_and_protected_backups_are_left_alone() -> None:
    backups = [
        backup("source", 300),
        backup("gone", 240, deleting=True),
        backup("b1", 180),
        backup("b2", 120),
        backup("running", 1, phase="Running"),
        backup("pending", 0.5, phase=None),
    ]
    chosen = st.expired(backups, Retention(count=1), scheduled=True, now=T0, protected=["source"])
    assert chosen == ["b1"]


def test_failed_backups_keep_a_short_history() -> None:
    backups = [backup(f"f{i}", 100 - i, phase="Failed") for i in range(5)] + [backup("ok", 200)]
    chosen = st.expired(backups, Retention(count=5), scheduled=True, now=T0)
    assert chosen == ["f0", "f1"]  # the three newest failures stay for diagnosis


def test_without_a_schedule_or_rules_everything_is_kept() -> None:
    backups = [backup(f"b{i}", 60 * i) for i in range(20)]
    assert st.expired(backups, Retention(), scheduled=False, now=T0) == []
    # A schedule alone keeps seven.
    assert len(st.expired(backups, Retention(), scheduled=True, now=T0)) == 13


# ---- one backup -------------------------------------------------------------------------


def test_backup_steps_follow_the_job() -> None:
    b = backup("b", 0, phase=None)
    assert st.backup_step(b, None, embedded=True, busy=None) == st.Step(
        "Running", "starting the backup Job", start_job=True
    )
    waiting = st.backup_step(b, None, embedded=True, busy="Job x-restore-1")
    assert (waiting.phase, waiting.start_job) == ("Pending", False)
    assert "Job x-restore-1" in waiting.message
    assert st.backup_step(b, job(), embedded=True, busy=None).phase == "Running"
    assert st.backup_step(b, job(complete=True), embedded=True, busy=None).phase == "Completed"
    failed = st.backup_step(b, job(failed=True), embedded=True, busy=None)
    assert failed.phase == "Failed" and "BackoffLimitExceeded" in failed.message
    external = st.backup_step(b, None, embedded=False, busy=None)
    assert external.phase == "Failed" and "external database" in external.message
    assert st.backup_step(backup("done", 0), None, embedded=True, busy=None) is None


def test_job_state_reads_conditions_and_times() -> None:
    done = job(complete=True)
    assert done.finished and done.succeeded and not done.failed
    assert done.start == "2026-03-01T09:59:01Z"
    failed = job(failed=True)
    assert failed.finished and failed.failed and failed.completion == "2026-03-01T10:00:00Z"
    assert not job().finished


# ---- one restore ------------------------------------------------------------------------


def restore(phase, *, job_state=None, busy=None, down=False, ready=False, problem=None):
    return st.restore_step(phase, True, problem, job_state, busy, down, ready)


def test_restore_walks_through_its_phases() -> None:
    # Waiting for a backup Job: the writers keep running.
    step = restore(None, busy="Job litemaas-backup-1")
    assert (step.phase, step.stop_writers, step.start_job) == ("Pending", False, False)
    # Stop the writers, and wait until their pods are gone.
    step = restore("Pending")
    assert (step.phase, step.stop_writers, step.start_job) == ("ScalingDown", True, False)
    # Down: start the restore Job.
    step = restore("ScalingDown", down=True)
    assert (step.phase, step.stop_writers, step.start_job) == ("Restoring", True, True)
    step = restore("Restoring", job_state=job(), down=True)
    assert (step.phase, step.stop_writers, step.start_job) == ("Restoring", True, False)
    # Restored: writers back, Completed once they are ready.
    step = restore("Restoring", job_state=job(complete=True), down=True)
    assert (step.phase, step.stop_writers) == ("ScalingUp", False)
    assert restore("ScalingUp", job_state=job(complete=True), ready=True).phase == "Completed"
    # The finished Job may be gone by then (TTL): ScalingUp in the status is the record.
    assert restore("ScalingUp", ready=False).phase == "ScalingUp"
    assert restore("Completed") is None


def test_a_restore_resumes_from_any_phase_after_a_restart() -> None:
    # Killed after the writers were stopped but before the Job was created: create it now.
    assert restore("ScalingDown", down=True).start_job
    # Killed after the Job was created but before the status said so: the Job is the record.
    step = restore("ScalingDown", job_state=job(), down=True)
    assert (step.phase, step.start_job) == ("Restoring", False)
    # The Job vanished while Restoring (deleted by hand): run it again (a restore is idempotent).
    assert restore("Restoring", down=True).start_job


def test_failed_restores() -> None:
    step = restore("Restoring", job_state=job(failed=True))
    assert step.phase == "Failed" and not step.stop_writers
    step = restore(None, problem="LiteMaaSBackup x not found in this namespace")
    assert step.phase == "Failed" and "not found" in step.message
    step = st.restore_step(None, False, None, None, None, False, False)
    assert step.phase == "Failed" and "external" in step.message


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (None, "not found"),
        ({"metadata": {}, "spec": {"instance": "other"}}, "another instance"),
        (
            {"metadata": {"deletionTimestamp": "x"}, "spec": {"instance": "litemaas"}},
            "being deleted",
        ),
        (
            {"metadata": {}, "spec": {"instance": "litemaas"}, "status": {"phase": "Failed"}},
            "Failed",
        ),
        ({"metadata": {}, "spec": {"instance": "litemaas"}}, "not started"),
    ],
)
def test_what_cannot_be_restored(source, words) -> None:
    assert words in st.restore_source_problem("litemaas", source, "b1")


def test_only_a_completed_backup_of_the_instance_can_be_restored() -> None:
    ok = {"metadata": {}, "spec": {"instance": "litemaas"}, "status": {"phase": "Completed"}}
    assert st.restore_source_problem("litemaas", ok, "b1") is None


def deployment(replicas: int, ready: int, generation: int = 2, observed: int = 2) -> dict:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": observed, "replicas": ready},
    }


def test_writers_are_down_only_when_no_pod_is_left() -> None:
    assert st.writers_down([deployment(0, 0), None])
    assert not st.writers_down([deployment(0, 1)])  # a pod still runs
    assert not st.writers_down([deployment(1, 0)])  # not scaled down (yet)
    assert not st.writers_down([deployment(0, 0, generation=3)])  # not observed yet
    terminating = deployment(0, 0)
    terminating["status"]["terminatingReplicas"] = 1
    assert not st.writers_down([terminating])


# ---- status -----------------------------------------------------------------------------


def test_summary_names_the_latest_outcomes() -> None:
    backups = [
        backup("b1", 30, completion="2026-03-01T09:31:00Z"),
        backup("b2", 20, phase="Failed", completion="2026-03-01T09:41:00Z"),
        backup("b3", 10, completion="2026-03-01T09:51:00Z"),
    ]
    due = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert st.summary(backups, due) == {
        "lastSuccessful": {"name": "b3", "time": "2026-03-01T09:51:00Z"},
        "lastFailed": {"name": "b2", "time": "2026-03-01T09:41:00Z"},
        "nextScheduled": "2026-03-02T02:00:00Z",
    }
    assert st.summary([], None) is None


def test_backup_ready_reads_the_newest_finished_backup() -> None:
    assert st.backup_condition([], scheduled=False, embedded=True) is None
    assert st.backup_condition([], scheduled=True, embedded=True)[:2] == ("Unknown", "NoBackupYet")
    ok = [backup("a", 20, phase="Failed"), backup("b", 10)]
    assert st.backup_condition(ok, scheduled=True, embedded=True)[:2] == ("True", "BackupSucceeded")
    bad = [backup("a", 20), backup("b", 10, phase="Failed")]
    status, reason, message = st.backup_condition(bad, scheduled=False, embedded=True)
    assert (status, reason) == ("False", "BackupFailed") and "b" in message
    running = [backup("a", 1, phase="Running")]
    assert st.backup_condition(running, True, True)[:2] == ("Unknown", "BackupInProgress")
    assert st.backup_condition(ok, True, embedded=False)[:2] == ("False", "ExternalDatabase")


def test_restoring_condition() -> None:
    def r(name, created, phase, message=""):
        return {
            "metadata": {"name": name, "creationTimestamp": created},
            "status": {"phase": phase, "message": message},
        }

    assert st.restoring_condition([]) is None
    done = r("r1", "2026-03-01T09:00:00Z", "Completed", "both databases restored")
    assert st.restoring_condition([done])[:2] == ("False", "RestoreCompleted")
    running = r("r2", "2026-03-01T10:00:00Z", "ScalingDown", "stopping")
    status, reason, message = st.restoring_condition([done, running])
    assert (status, reason) == ("True", "ScalingDown") and "r2" in message
    failed = r("r3", "2026-03-01T11:00:00Z", "Failed", "boom")
    assert st.restoring_condition([done, failed])[:2] == ("False", "RestoreFailed")
