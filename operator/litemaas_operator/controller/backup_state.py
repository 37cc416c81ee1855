"""Backup and restore decisions, as pure functions of what the cluster shows. No I/O.

Everything the controller does about backups is decided here from objects it has just read:
LiteMaaSBackup and LiteMaaSRestore resources (their phase is the record of what already
happened), the Jobs that do the work, the writers' Deployments and the schedule. Nothing is
remembered between reconciles, so an operator killed at any step resumes from the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..api import cron
from ..api.backup import DEFAULT_RETENTION_COUNT, TERMINAL, Retention, max_age

# Failed backups kept for diagnosis once a retention is in effect (as CronJob's history).
FAILED_HISTORY = 3
# A failed prune Job is retried this long after it failed (its Job is deleted, then recreated).
PRUNE_RETRY_SECONDS = 600


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 timestamp as the API server writes it (``2026-01-02T03:04:05Z``)."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def format_time(when: datetime) -> str:
    """The RFC 3339 form the API server writes."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Backup:
    """What the decisions need of one LiteMaaSBackup."""

    name: str
    created: datetime
    phase: str | None = None
    deleting: bool = False
    completion: str | None = None
    reason: str | None = None

    @property
    def terminal(self) -> bool:
        """Completed or Failed: nothing will change it any more."""
        return self.phase in TERMINAL

    @staticmethod
    def of(obj: Mapping[str, Any]) -> Backup:
        """The view of a LiteMaaSBackup object."""
        meta, status = obj["metadata"], obj.get("status") or {}
        return Backup(
            name=meta["name"],
            created=parse_time(meta.get("creationTimestamp")) or datetime.now(UTC),
            phase=status.get("phase"),
            deleting=bool(meta.get("deletionTimestamp")),
            completion=status.get("completionTime"),
            reason=(obj.get("spec") or {}).get("reason"),
        )


@dataclass(frozen=True)
class JobState:
    """Where a Job is, read from its status conditions (as ``kubectl wait`` reads them)."""

    name: str
    succeeded: bool = False
    failed: bool = False
    start: str | None = None
    completion: str | None = None
    message: str = ""

    @property
    def finished(self) -> bool:
        """Complete or Failed."""
        return self.succeeded or self.failed

    @staticmethod
    def of(job: Mapping[str, Any]) -> JobState:
        """The state of a Job object."""
        status = job.get("status") or {}
        conditions = {c.get("type"): c for c in status.get("conditions") or []}

        def true(ctype: str) -> Mapping[str, Any] | None:
            cond = conditions.get(ctype)
            return cond if cond and cond.get("status") == "True" else None

        complete, failed = true("Complete"), true("Failed")
        completion = status.get("completionTime")
        message = ""
        if failed is not None:
            completion = completion or failed.get("lastTransitionTime")
            message = f"{failed.get('reason') or 'Failed'}: {failed.get('message') or ''}".strip()
        return JobState(
            name=job["metadata"]["name"],
            succeeded=complete is not None,
            failed=failed is not None and complete is None,
            start=status.get("startTime") or job["metadata"].get("creationTimestamp"),
            completion=completion,
            message=message,
        )


# ---- schedule ---------------------------------------------------------------------------


def schedule_base(backups: Iterable[Backup], instance_created: datetime) -> datetime:
    """What the next scheduled time is counted from: the newest backup of the instance (of any
    reason: a backup taken by hand or before an upgrade also counts), else the instance's own
    creation."""
    created = [b.created for b in backups]
    return max(created) if created else instance_created


def due_backup(
    schedule: str, backups: Sequence[Backup], instance_created: datetime, now: datetime
) -> datetime | None:
    """The slot of the scheduled backup to create now, or None when none is due.

    Slots missed while the operator was down give one backup, not one per slot (as a CronJob
    with missed runs).
    """
    due = cron.next_after(schedule, schedule_base(backups, instance_created))
    return due if due <= now else None


def next_scheduled(
    schedule: str, backups: Sequence[Backup], instance_created: datetime
) -> datetime:
    """When the next scheduled backup is due."""
    return cron.next_after(schedule, schedule_base(backups, instance_created))


def scheduled_name(instance: str, slot: datetime) -> str:
    """A scheduled backup's name: the same for one slot, so a retried create is a no-op."""
    return f"{instance}-{slot.astimezone(UTC):%Y%m%d%H%M}"


# ---- retention --------------------------------------------------------------------------


def retention_in_effect(retention: Retention, scheduled: bool) -> tuple[int | None, str | None]:
    """(count, maxAge) that apply; a schedule without either keeps the default count."""
    if retention.count is None and retention.max_age is None:
        return (DEFAULT_RETENTION_COUNT if scheduled else None), None
    return retention.count, retention.max_age


def expired(
    backups: Sequence[Backup],
    retention: Retention,
    scheduled: bool,
    now: datetime,
    protected: Iterable[str] = (),
) -> list[str]:
    """Names of backups the retention deletes, oldest first.

    Only finished backups are considered, the newest Completed one is always kept, and so is
    any backup in ``protected`` (the source of a restore in progress).
    """
    count, age_text = retention_in_effect(retention, scheduled)
    if count is None and age_text is None:
        return []
    keep = set(protected)
    live = [b for b in backups if not b.deleting and b.terminal]
    newest_first = sorted(live, key=lambda b: b.created, reverse=True)
    completed = [b for b in newest_first if b.phase == "Completed"]
    failed = [b for b in newest_first if b.phase == "Failed"]
    if completed:
        keep.add(completed[0].name)
    chosen: list[Backup] = []
    if count is not None:
        chosen += completed[count:]
    chosen += failed[FAILED_HISTORY:]
    if age_text is not None:
        limit = max_age(age_text)
        chosen += [b for b in live if now - b.created > limit]
    unique = {b.name: b for b in chosen if b.name not in keep}
    return [b.name for b in sorted(unique.values(), key=lambda b: b.created)]


# ---- one backup -------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What to do about one backup or restore now."""

    phase: str
    message: str
    start_job: bool = False  # create its Job (when no other Job of the instance runs)
    stop_writers: bool = False  # restores: render the writers with 0 replicas


def backup_step(
    backup: Backup, job: JobState | None, embedded: bool, busy: str | None
) -> Step | None:
    """The next state of a backup that is not finished yet; None for a finished one.

    ``busy`` names another Job of the instance that is running (one Job at a time: they share a
    ReadWriteOnce volume, and a dump beside a restore would read half-restored data).
    """
    if backup.terminal or backup.deleting:
        return None
    if job is not None:
        if job.succeeded:
            return Step("Completed", "both databases dumped")
        if job.failed:
            return Step("Failed", job.message or "the backup Job failed")
        return Step("Running", f"Job {job.name} is dumping both databases")
    if not embedded:
        return Step(
            "Failed",
            "the instance uses an external database; back it up with that database's own tools",
        )
    if busy is not None:
        return Step("Pending", f"waiting for {busy} to finish")
    return Step("Running", "starting the backup Job", start_job=True)


# ---- one restore ------------------------------------------------------------------------


def restore_source_problem(
    restore_instance: str, source: Mapping[str, Any] | None, backup_name: str
) -> str | None:
    """Why ``source`` (the LiteMaaSBackup a restore names) cannot be restored; None if it can."""
    if source is None:
        return f"LiteMaaSBackup {backup_name} not found in this namespace"
    if (source.get("spec") or {}).get("instance") != restore_instance:
        return f"LiteMaaSBackup {backup_name} is a backup of another instance"
    if source["metadata"].get("deletionTimestamp"):
        return f"LiteMaaSBackup {backup_name} is being deleted"
    phase = (source.get("status") or {}).get("phase")
    if phase != "Completed":
        return f"LiteMaaSBackup {backup_name} is {phase or 'not started'}, not Completed"
    return None


def restore_step(
    phase: str | None,
    embedded: bool,
    source_problem: str | None,
    job: JobState | None,
    busy: str | None,
    writers_down: bool,
    writers_ready: bool,
) -> Step | None:
    """The next state of a restore; None once it is Completed or Failed.

    The order: wait for any other Job; stop the writers (0 replicas) and wait until their pods
    are gone; run the restore Job; start the writers again; Completed once they are ready.
    """
    if phase in TERMINAL:
        return None
    if job is not None and job.failed:
        return Step("Failed", f"the restore Job failed: {job.message}".rstrip(": "))
    if (job is not None and job.succeeded) or phase == "ScalingUp":
        if writers_ready:
            return Step("Completed", "both databases restored; the writers are running again")
        return Step("ScalingUp", "both databases restored; starting the backend, LiteLLM, Redis")
    if job is not None:
        return Step("Restoring", f"Job {job.name} is restoring both databases", stop_writers=True)
    if not embedded:
        return Step("Failed", "the instance uses an external database; nothing to restore into")
    if source_problem is not None:
        return Step("Failed", source_problem)
    if busy is not None and phase in (None, "Pending"):
        return Step("Pending", f"waiting for {busy} to finish")
    if not writers_down:
        return Step("ScalingDown", "stopping the backend, LiteLLM and Redis", stop_writers=True)
    if busy is not None:
        return Step("ScalingDown", f"writers stopped; waiting for {busy}", stop_writers=True)
    return Step("Restoring", "starting the restore Job", start_job=True, stop_writers=True)


def writers_down(deployments: Iterable[Mapping[str, Any] | None]) -> bool:
    """Whether every writer Deployment is at 0 replicas with no pod left (or does not exist)."""
    for obj in deployments:
        if obj is None:
            continue
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        observed = int(status.get("observedGeneration") or 0)
        if int(spec.get("replicas", 1)) != 0 or observed < int(obj["metadata"]["generation"]):
            return False
        if int(status.get("replicas") or 0) or int(status.get("terminatingReplicas") or 0):
            return False
    return True


# ---- what the LiteMaaS status shows -----------------------------------------------------


def summary(backups: Sequence[Backup], next_due: datetime | None) -> dict[str, Any] | None:
    """``status.backup``: the newest Completed and Failed backups, and the next scheduled one."""
    out: dict[str, Any] = {}
    for key, phase in (("lastSuccessful", "Completed"), ("lastFailed", "Failed")):
        done = [b for b in backups if b.phase == phase and not b.deleting]
        if done:
            newest = max(done, key=lambda b: (b.completion or "", b.created))
            out[key] = {
                "name": newest.name,
                "time": newest.completion or format_time(newest.created),
            }
    if next_due is not None:
        out["nextScheduled"] = format_time(next_due)
    return out or None


def backup_condition(
    backups: Sequence[Backup], scheduled: bool, embedded: bool
) -> tuple[str, str, str] | None:
    """``BackupReady`` as (status, reason, message); None when backups are not used at all.

    It says whether the newest finished backup worked. It is not part of ``Ready``: a failed
    backup is reported (and raises a Warning Event) but never stops LiteMaaS from serving.
    """
    if not scheduled and not backups:
        return None
    if not embedded:
        return (
            "False",
            "ExternalDatabase",
            "backups cover the embedded database only; back up the external one with its own tools",
        )
    finished = [b for b in backups if b.terminal and not b.deleting]
    if not finished:
        running = [b for b in backups if not b.terminal and not b.deleting]
        if running:
            return "Unknown", "BackupInProgress", f"backup {running[-1].name} has not finished"
        return "Unknown", "NoBackupYet", "no backup has run yet"
    newest = max(finished, key=lambda b: b.created)
    if newest.phase == "Completed":
        return "True", "BackupSucceeded", f"backup {newest.name} completed"
    return "False", "BackupFailed", f"backup {newest.name} failed; see its status and Events"


def restoring_condition(restores: Sequence[Mapping[str, Any]]) -> tuple[str, str, str] | None:
    """``Restoring`` as (status, reason, message) from the instance's restores; None without."""
    if not restores:
        return None
    newest_first = sorted(
        restores, key=lambda r: r["metadata"].get("creationTimestamp") or "", reverse=True
    )
    active = [r for r in newest_first if (r.get("status") or {}).get("phase") not in TERMINAL]
    if active:
        current = active[-1]  # the oldest one runs first
        status = current.get("status") or {}
        phase = status.get("phase") or "Pending"
        message = f"restore {current['metadata']['name']}: {status.get('message') or phase}"
        return "True", phase, message
    last = newest_first[0]
    status = last.get("status") or {}
    reason = "RestoreCompleted" if status.get("phase") == "Completed" else "RestoreFailed"
    return "False", reason, f"restore {last['metadata']['name']}: {status.get('message') or ''}"
