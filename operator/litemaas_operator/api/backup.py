"""Backups and restores of the embedded PostgreSQL: ``spec.backup``, ``LiteMaaSBackup``,
``LiteMaaSRestore``, and what ``LiteMaaS.status.backup`` reports.

Shaped after CloudNativePG's ``Backup``/``ScheduledBackup`` and Velero's ``Backup``/``Restore``:
one object per backup and per restore, each with a phase and times in its status, and the
schedule and retention owned by the thing that is backed up (here the LiteMaaS resource). A
restore is a kind of its own rather than a field of ``LiteMaaS.spec`` because it is a one-off
command: the operator never writes the spec, so a ``spec.database.restore`` would stay set after
the restore ran, and re-applying the resource from git (or re-creating it) would restore again.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator

from . import cron
from .base import DNS_SUBDOMAIN, Model, Quantity, ResourceName, SpecModel
from .identity import GROUP, NAME_MAX_LENGTH, NAME_PATTERN

BACKUP_KIND = "LiteMaaSBackup"
BACKUP_PLURAL = "litemaasbackups"
BACKUP_SINGULAR = "litemaasbackup"
BACKUP_SHORT_NAMES = ["lmbackup"]
RESTORE_KIND = "LiteMaaSRestore"
RESTORE_PLURAL = "litemaasrestores"
RESTORE_SINGULAR = "litemaasrestore"
RESTORE_SHORT_NAMES = ["lmrestore"]

MAX_AGE = r"^[1-9][0-9]{0,5}(h|d|w)$"
REASON = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# What a retention keeps when a schedule is set and neither count nor maxAge is.
DEFAULT_RETENTION_COUNT = 7

BackupPhase = Literal["Pending", "Running", "Completed", "Failed"]
RestorePhase = Literal["Pending", "ScalingDown", "Restoring", "ScalingUp", "Completed", "Failed"]
TERMINAL = frozenset({"Completed", "Failed"})


def max_age(text: str) -> timedelta:
    """``30d``, ``12h`` or ``2w`` as a timedelta."""
    match = re.match(MAX_AGE, text)
    if match is None:
        raise ValueError(f"{text!r} is not an age such as 12h, 30d or 2w")
    unit = {"h": "hours", "d": "days", "w": "weeks"}[match.group(1)]
    return timedelta(**{unit: int(text[:-1])})


class Retention(SpecModel):
    """Which completed backups to keep; older ones are deleted with their dump files.

    The newest completed backup is always kept. Without count and maxAge, a scheduled instance
    keeps its 7 newest completed backups; an unscheduled one keeps everything.
    """

    count: int | None = Field(
        default=None, ge=1, le=1000, description="Keep at most this many completed backups."
    )
    max_age: str | None = Field(
        default=None,
        pattern=MAX_AGE,
        description="Delete backups older than this, e.g. 30d, 12h or 2w.",
    )


class BackupVolume(SpecModel):
    """The PersistentVolumeClaim the dumps are written to (``<name>-db-backups``).

    It is retained when the LiteMaaS resource is deleted, like the database's own volume,
    unless ``database.deleteClaimOnDelete`` is set.
    """

    size: Quantity | None = Field(default=None, description="Requested size; default 10Gi.")
    storage_class_name: ResourceName | None = Field(
        default=None, description="StorageClass; the cluster default when empty."
    )


class BackupSpec(SpecModel):
    """Scheduled backups of both databases (litemaas_db, litellm_db) with pg_dump.

    Off unless a schedule is set. LiteMaaSBackup resources (on-demand backups) work whenever
    the instance uses the embedded database, with or without a schedule.
    """

    schedule: str | None = Field(
        default=None,
        max_length=128,
        pattern=cron.PATTERN,
        description="Cron schedule in UTC, five fields (minute hour day-of-month month "
        "day-of-week) or a macro such as @daily, e.g. '0 2 * * *'. Unset: no scheduled "
        "backups.",
    )
    retention: Retention = Field(default_factory=Retention)
    volume: BackupVolume = Field(default_factory=BackupVolume)

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                cron.parse(value)
            except cron.CronError as err:
                raise ValueError(f"invalid cron schedule {value!r}: {err}") from err
        return value


InstanceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        pattern=NAME_PATTERN,
        description="Name of the LiteMaaS resource in the same namespace.",
    ),
]


class LiteMaaSBackupSpec(SpecModel):
    """Which instance to back up, and why."""

    instance: InstanceName
    reason: str | None = Field(
        default=None,
        max_length=63,
        pattern=REASON,
        description="Why the backup was taken: scheduled, manual, pre-upgrade, ... Shown in "
        "kubectl get; the operator sets scheduled on the backups it creates.",
    )


class LiteMaaSBackupStatus(Model):
    """What became of one backup (written by the operator)."""

    phase: BackupPhase | None = Field(
        default=None,
        description="Pending (waiting for its turn), Running, Completed or Failed.",
    )
    start_time: str | None = Field(default=None, json_schema_extra={"format": "date-time"})
    completion_time: str | None = Field(default=None, json_schema_extra={"format": "date-time"})
    files: list[str] | None = Field(
        default=None,
        description="Dump files, relative to the root of the backup volume <instance>-db-backups.",
    )
    sizes: dict[str, int] | None = Field(
        default=None, description="Size in bytes of each file, when the backup pod reported it."
    )
    message: str | None = Field(default=None, max_length=4096)


class LiteMaaSRestoreSpec(SpecModel):
    """Which backup to load into which instance."""

    instance: InstanceName
    backup: str = Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Name of a Completed LiteMaaSBackup of the same instance and namespace.",
    )


class LiteMaaSRestoreStatus(Model):
    """Progress and outcome of one restore (written by the operator)."""

    phase: RestorePhase | None = Field(
        default=None,
        description="Pending, ScalingDown (stopping the backend, LiteLLM and Redis), Restoring "
        "(the restore Job runs), ScalingUp (starting them again), Completed or Failed.",
    )
    start_time: str | None = Field(default=None, json_schema_extra={"format": "date-time"})
    completion_time: str | None = Field(default=None, json_schema_extra={"format": "date-time"})
    message: str | None = Field(default=None, max_length=4096)


class BackupRef(Model):
    """One backup named in the LiteMaaS status."""

    name: str
    time: str = Field(json_schema_extra={"format": "date-time"})


class BackupStatus(Model):
    """``LiteMaaS.status.backup``: the latest outcomes, and the next scheduled backup."""

    last_successful: BackupRef | None = None
    last_failed: BackupRef | None = None
    next_scheduled: str | None = Field(default=None, json_schema_extra={"format": "date-time"})


__all__ = [
    "BACKUP_KIND",
    "BACKUP_PLURAL",
    "DEFAULT_RETENTION_COUNT",
    "GROUP",
    "RESTORE_KIND",
    "RESTORE_PLURAL",
    "TERMINAL",
    "BackupSpec",
    "BackupStatus",
    "LiteMaaSBackupSpec",
    "LiteMaaSBackupStatus",
    "LiteMaaSRestoreSpec",
    "LiteMaaSRestoreStatus",
    "Retention",
    "max_age",
]
