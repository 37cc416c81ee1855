"""Backups and restores of one instance, driven by its reconcile loop.

Each reconcile reads the instance's LiteMaaSBackups, LiteMaaSRestores and their Jobs, lets
``backup_state`` decide, and writes the outcome: scheduled backups created, one Job at a time
started, statuses copied from Jobs, expired backups deleted and their files pruned, Events at
each transition. The reconcile then renders the backup volume (and, during a restore, the
writers at 0 replicas) with everything else, and the LiteMaaS status gains ``status.backup``
and the ``BackupReady`` and ``Restoring`` conditions.

Files on the backup volume outlive their resources only as long as a finalizer
(``litemaas.io/backup-files``) holds the resource: deleting a LiteMaaSBackup, by hand or by
retention, leaves it terminating until a prune Job has removed its directory.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..api import API_VERSION, GROUP
from ..api.backup import BACKUP_KIND, RESTORE_KIND, TERMINAL
from ..api.spec import LiteMaaSSpec
from ..facts import Instance, Platform
from ..render import backup as render
from ..render.names import MANAGED_BY
from . import backup_state as state
from . import events
from .conditions import ComponentState, status_condition
from .kube import ApiError, Kube

log = logging.getLogger(__name__)

FINALIZER = f"{GROUP}/backup-files"
# Event reasons per kind and phase (a phase missing here posts no Event).
EVENT_REASONS: dict[str, dict[str, str]] = {
    BACKUP_KIND: {
        "Running": "BackupStarted",
        "Completed": "BackupCompleted",
        "Failed": "BackupFailed",
    },
    RESTORE_KIND: {
        "ScalingDown": "StoppingWriters",
        "Restoring": "RestoreStarted",
        "ScalingUp": "StartingWriters",
        "Completed": "RestoreCompleted",
        "Failed": "RestoreFailed",
    },
}
JOB_SELECTOR = "app.kubernetes.io/component=backup,app.kubernetes.io/instance={name}"
Obj = dict[str, Any]


def _owner(obj: Mapping[str, Any]) -> Obj:
    """A controller ownerReference to a LiteMaaSBackup or LiteMaaSRestore."""
    return {
        "apiVersion": API_VERSION,
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _by_created(objs: list[Obj]) -> list[Obj]:
    return sorted(
        objs, key=lambda o: (o["metadata"].get("creationTimestamp") or "", o["metadata"]["name"])
    )


@dataclass
class BackupController:
    """The backup and restore work of one reconcile of one instance."""

    kube: Kube
    body: Obj
    spec: LiteMaaSSpec
    instance: Instance
    platform: Platform
    available: bool = True  # False: the backup CRDs are not installed
    backups: list[Obj] = field(default_factory=list)
    restores: list[Obj] = field(default_factory=list)
    jobs: dict[str, Obj] = field(default_factory=dict)
    stop: str | None = None  # the restore the writers are stopped for
    next_due: datetime | None = None
    requeue_after: float | None = None
    error: str | None = None  # a write the API server refused (RBAC, admission): for a person
    volume_bound: bool = False  # the backup volume is Bound (else no Job ever wrote to it)
    unfinished: bool = False  # a backup or restore not done yet, or one being deleted

    @property
    def embedded(self) -> bool:
        return self.spec.database.mode == "embedded"

    @property
    def in_use(self) -> bool:
        """Whether this instance uses backups at all (and so has a backup volume)."""
        return bool(self.spec.backup.schedule or self.backups or self.restores)

    @property
    def quiet(self) -> bool:
        """Whether no backup or restore is under way, held, or refused: ``act`` would start
        nothing because of a child's status (what is due on a schedule comes as a requeue)."""
        return not self.unfinished and self.stop is None and self.error is None

    # ---- reading -----------------------------------------------------------------------

    @classmethod
    async def prepare(
        cls, kube: Kube, body: Obj, spec: LiteMaaSSpec, instance: Instance, platform: Platform
    ) -> BackupController:
        """Read the instance's backups, restores and (when any needs them) Jobs."""
        self = cls(kube, body, spec, instance, platform)
        try:
            self.backups = await self._mine(BACKUP_KIND)
            self.restores = await self._mine(RESTORE_KIND)
        except ApiError as err:
            if err.status not in (403, 404):
                raise
            # The backup CRDs are not installed yet, or the operator's RBAC predates them:
            # LiteMaaS itself must keep working.
            log.warning("backups unavailable for %s: %s", instance.name, err.message)
            self.available = False
            return self
        unfinished = [
            o
            for o in self.backups + self.restores
            if (o.get("status") or {}).get("phase") not in TERMINAL
            or o["metadata"].get("deletionTimestamp")
        ]
        self.unfinished = bool(unfinished)
        if unfinished:
            selector = JOB_SELECTOR.format(name=instance.name)
            jobs = await kube.list("Job", instance.namespace, selector)
            self.jobs = {j["metadata"]["name"]: j for j in jobs}
        restore, step = self._restore_step(writers_down=False, writers_ready=False)
        if restore is not None and step is not None and step.stop_writers:
            self.stop = restore["metadata"]["name"]
        return self

    async def _mine(self, kind: str) -> list[Obj]:
        items = await self.kube.list(kind, self.instance.namespace)
        mine = [o for o in items if (o.get("spec") or {}).get("instance") == self.instance.name]
        for obj in mine:
            obj.setdefault("kind", kind)
            obj.setdefault("apiVersion", API_VERSION)
        return _by_created(mine)

    def _job(self, operation: render.Operation, target: str) -> Obj | None:
        return self.jobs.get(render.job_name(self.instance, operation, target))

    def _busy(self) -> str | None:
        """A Job of this instance that has not finished, as "Job <name>"."""
        for name, job in sorted(self.jobs.items()):
            if not state.JobState.of(job).finished:
                return f"Job {name}"
        return None

    def _active_restore(self) -> Obj | None:
        active = [r for r in self.restores if (r.get("status") or {}).get("phase") not in TERMINAL]
        return active[0] if active else None

    def _restore_step(
        self, *, writers_down: bool, writers_ready: bool
    ) -> tuple[Obj | None, state.Step | None]:
        restore = self._active_restore()
        if restore is None:
            return None, None
        name, spec = restore["metadata"]["name"], restore.get("spec") or {}
        source = next(
            (b for b in self.backups if b["metadata"]["name"] == spec.get("backup")), None
        )
        job = self._job("restore", name)
        busy = self._busy()
        if job is not None and busy == f"Job {job['metadata']['name']}":
            busy = None  # its own Job
        step = state.restore_step(
            (restore.get("status") or {}).get("phase"),
            self.embedded,
            state.restore_source_problem(self.instance.name, source, str(spec.get("backup"))),
            state.JobState.of(job) if job is not None else None,
            busy,
            writers_down,
            writers_ready,
        )
        return restore, step

    # ---- rendering ---------------------------------------------------------------------

    def render(self, objects: list[Obj]) -> list[Obj]:
        """The desired children plus the backup volume; the writers at 0 during a restore."""
        if not self.available:
            return objects
        out = list(objects)
        if self.in_use:
            out.append(render.backup_claim(self.spec, self.instance))
        if self.stop is not None:
            out = render.stop_writers(out, self.instance)
        return out

    # ---- acting ------------------------------------------------------------------------

    async def act(
        self, live: Mapping[tuple[str, str], Obj], components: dict[str, ComponentState]
    ) -> dict[str, ComponentState]:
        """Do this reconcile's backup and restore work; the component states as observed.

        ``live`` holds the children after this reconcile's applies; ``components`` their
        states, which come back with the writers marked stopped during a restore.
        """
        if not self.available:
            return components
        try:
            await self._act(live, components)
        except ApiError as err:
            if err.status not in (400, 403, 422):
                raise  # conflicts, outages: the loop retries soon
            # Refused for good until a person acts: reported, and serving goes on.
            self.error = f"{err.reason}: {err.message}"
            log.warning("backup work of %s refused: %s", self.instance.name, self.error)
        if self.stop is not None:
            reason = f"scaled to 0 while LiteMaaSRestore {self.stop} runs"
            components = {
                key: (
                    ComponentState(False, "StoppedForRestore", reason)
                    if key in ("backend", "litellm", "redis") and key in components
                    else value
                )
                for key, value in components.items()
            }
        return components

    async def _act(
        self, live: Mapping[tuple[str, str], Obj], components: dict[str, ComponentState]
    ) -> None:
        now = datetime.now(UTC)
        claim = live.get(("PersistentVolumeClaim", render.claim_name(self.instance))) or {}
        self.volume_bound = (claim.get("status") or {}).get("phase") == "Bound"
        await self._schedule(now)
        await self._finish_prunes(now)
        await self._sync_backups()
        writer_objs = [live.get(("Deployment", n)) for n in render.writer_names(self.instance)]
        ready = all(components[c].ready for c in ("backend", "litellm", "redis") if c in components)
        restore, step = self._restore_step(
            writers_down=state.writers_down(writer_objs), writers_ready=ready
        )
        if restore is not None and step is not None:
            await self._advance_restore(restore, step)
        await self._queue_other_restores(restore)
        blocking = step is not None and step.phase in ("Pending", "ScalingDown", "Restoring")
        if self._busy() is None and not blocking:
            await self._start_next()
        waiting_for = self._busy() or (
            f"restore {restore['metadata']['name']}" if blocking and restore else None
        )
        await self._mark_waiting(waiting_for)
        await self._retain(now)

    async def _schedule(self, now: datetime) -> None:
        schedule = self.spec.backup.schedule
        if not schedule or not self.embedded:
            return
        created = state.parse_time(self.body["metadata"].get("creationTimestamp")) or now
        views = [state.Backup.of(b) for b in self.backups]
        slot = state.due_backup(schedule, views, created, now)
        if slot is not None:
            name = state.scheduled_name(self.instance.name, slot)
            obj = await self._create_backup(name, "scheduled")
            if obj is not None:
                self.backups.append(obj)
                views.append(state.Backup.of(obj))
                await events.post(
                    self.kube, self.body, "Normal", "BackupScheduled", f"created backup {name}"
                )
        self.next_due = state.next_scheduled(schedule, views, created)
        self._requeue((self.next_due - now).total_seconds())

    async def _create_backup(self, name: str, reason: str) -> Obj | None:
        body = {
            "apiVersion": API_VERSION,
            "kind": BACKUP_KIND,
            "metadata": {
                "name": name,
                "namespace": self.instance.namespace,
                "labels": {
                    "app.kubernetes.io/instance": self.instance.name,
                    "app.kubernetes.io/managed-by": MANAGED_BY,
                },
            },
            "spec": {"instance": self.instance.name, "reason": reason},
        }
        try:
            obj = await self.kube.create(body)
        except ApiError as err:
            if not err.conflict:
                raise
            return None  # created by an earlier pass that did not live to see it: listed next
        obj.setdefault("kind", BACKUP_KIND)
        obj.setdefault("apiVersion", API_VERSION)
        return obj

    async def _sync_backups(self) -> None:
        """Copy each unfinished backup's Job outcome into its status."""
        for backup in self.backups:
            view = state.Backup.of(backup)
            job = self._job("backup", view.name)
            job_state = state.JobState.of(job) if job is not None else None
            step = state.backup_step(view, job_state, self.embedded, busy=None)
            if step is None or step.start_job or step.phase == "Pending":
                continue  # started (or left waiting) by _start_next
            patch: Obj = {"phase": step.phase, "message": step.message}
            if job_state is not None:
                patch["startTime"] = job_state.start
            if step.phase == "Completed":
                assert job_state is not None
                patch["completionTime"] = job_state.completion
                patch["files"] = render.dump_files(view.name)
                sizes = await self._sizes(job_state.name)
                if sizes:
                    patch["sizes"] = {f"{view.name}/{k}": v for k, v in sizes.items()}
            elif step.phase == "Failed":
                patch["completionTime"] = (
                    job_state.completion if job_state else state.format_time(datetime.now(UTC))
                )
                if job_state is not None:
                    detail = await self._failure_detail(job_state.name)
                    if detail:
                        patch["message"] = f"{step.message}; {detail}"
            await self._set_status(backup, patch)

    async def _set_status(self, obj: Obj, patch: Obj) -> None:
        """Write ``patch`` into ``obj``'s status if it changes anything; Events on transitions."""
        status = obj.get("status") or {}
        if all(status.get(k) == v for k, v in patch.items()):
            return
        kind = obj["kind"]
        meta = obj["metadata"]
        await self.kube.patch(
            kind, meta["name"], meta["namespace"], {"status": patch}, subresource="status"
        )
        old_phase = status.get("phase")
        obj["status"] = {**status, **patch}
        new_phase = patch.get("phase")
        if new_phase and new_phase != old_phase:
            await self._announce(obj, new_phase, obj["status"].get("message") or "")

    async def _announce(self, obj: Obj, phase: str, message: str) -> None:
        kind, name = obj["kind"], obj["metadata"]["name"]
        reason = EVENT_REASONS[kind].get(phase)
        if reason is None:
            return  # waiting is not news
        kind_type: events.EventType = "Warning" if phase == "Failed" else "Normal"
        text = f"{kind} {name}: {phase}" + (f": {message}" if message else "")
        await events.post(self.kube, obj, kind_type, reason, text)
        if phase == "Failed" or kind == RESTORE_KIND:
            # On the LiteMaaS resource too: `kubectl describe lmaas` shows what went wrong.
            await events.post(self.kube, self.body, kind_type, reason, text)

    async def _pod_message(self, job: str, phase: str) -> str:
        """The termination message of the Job's pod that ended in ``phase`` ('' if none)."""
        path = f"/api/v1/namespaces/{self.instance.namespace}/pods"
        query = {"labelSelector": f"batch.kubernetes.io/job-name={job}"}
        try:
            pods = (await self.kube.request("GET", path, query=query)).get("items") or []
        except ApiError as err:
            log.info("cannot read the pods of Job %s: %s", job, err.message)
            return ""
        for pod in pods:
            if (pod.get("status") or {}).get("phase") != phase:
                continue
            for container in (pod.get("status") or {}).get("containerStatuses") or []:
                terminated = (container.get("state") or {}).get("terminated") or {}
                if terminated.get("message"):
                    return str(terminated["message"])
        return ""

    async def _sizes(self, job: str) -> dict[str, int]:
        return render.parse_report(await self._pod_message(job, "Succeeded"))

    async def _failure_detail(self, job: str) -> str:
        lines = (await self._pod_message(job, "Failed")).strip().splitlines()
        return " / ".join(lines[-3:])[-600:]

    async def _advance_restore(self, restore: Obj, step: state.Step) -> None:
        name = restore["metadata"]["name"]
        patch: Obj = {"phase": step.phase, "message": step.message}
        status = restore.get("status") or {}
        if step.phase != "Pending" and not status.get("startTime"):
            patch["startTime"] = state.format_time(datetime.now(UTC))
        if step.phase in TERMINAL:
            patch["completionTime"] = state.format_time(datetime.now(UTC))
            job = self._job("restore", name)
            if step.phase == "Failed" and job is not None:
                detail = await self._failure_detail(job["metadata"]["name"])
                if detail:
                    patch["message"] = f"{step.message}; {detail}"
        if step.start_job:
            source = str((restore.get("spec") or {}).get("backup"))
            job = render.restore_job(
                self.spec, self.instance, self.platform, name, source, _owner(restore)
            )
            await self._create_job(job)
        await self._set_status(restore, patch)
        self.stop = name if step.stop_writers else None

    async def _queue_other_restores(self, current: Obj | None) -> None:
        for restore in self.restores:
            if restore is current or (restore.get("status") or {}).get("phase") in TERMINAL:
                continue
            assert current is not None  # the oldest unfinished one is current
            message = f"waiting for restore {current['metadata']['name']}"
            await self._set_status(restore, {"phase": "Pending", "message": message})

    async def _create_job(self, job: Obj) -> None:
        try:
            created = await self.kube.create(job)
        except ApiError as err:
            if not err.conflict:
                raise
            return  # created by an earlier pass; it is listed next time
        self.jobs[created["metadata"]["name"]] = created

    async def _start_next(self) -> None:
        """Start one Job: a prune if backups wait for their files to go, else the oldest
        pending backup."""
        doomed = self._doomed()
        if doomed and not self.volume_bound:
            # A volume that never bound (or is gone) holds no files: nothing to prune.
            for backup in self.backups:
                if backup["metadata"]["name"] in doomed:
                    await self._remove_finalizer(backup)
            return
        if doomed:
            # Owned by the backups it prunes: garbage collection removes it once they are gone
            # (and the LiteMaaS reconcile, which prunes children it did not render, leaves a
            # Job another kind controls alone).
            owners = [
                {**_owner(b), "controller": i == 0, "blockOwnerDeletion": False}
                for i, b in enumerate(b for b in self.backups if b["metadata"]["name"] in doomed)
            ]
            job = render.prune_job(self.spec, self.instance, self.platform, doomed)
            job["metadata"]["ownerReferences"] = owners
            if job["metadata"]["name"] not in self.jobs:
                try:
                    await self._create_job(job)
                except ApiError as err:
                    if not (err.status == 403 and "being terminated" in err.message):
                        raise
                    # The namespace is going, the volume with it: nothing left to prune.
                    for backup in self.backups:
                        if backup["metadata"]["name"] in doomed:
                            await self._remove_finalizer(backup)
            return
        for backup in self.backups:
            view = state.Backup.of(backup)
            step = state.backup_step(view, None, self.embedded, busy=None)
            if step is None or not step.start_job or self._job("backup", view.name):
                continue
            await self._add_finalizer(backup)
            job = render.backup_job(
                self.spec, self.instance, self.platform, view.name, _owner(backup)
            )
            await self._create_job(job)
            started = state.format_time(datetime.now(UTC))
            await self._set_status(
                backup,
                {"phase": "Running", "message": step.message, "startTime": started},
            )
            return

    async def _mark_waiting(self, waiting_for: str | None) -> None:
        """Backups that could not start this time say what they wait for."""
        if waiting_for is None:
            return
        for backup in self.backups:
            view = state.Backup.of(backup)
            step = state.backup_step(view, None, self.embedded, busy=waiting_for)
            if step is not None and step.phase == "Pending" and not self._job("backup", view.name):
                await self._set_status(backup, {"phase": "Pending", "message": step.message})

    def _doomed(self) -> list[str]:
        """Backups being deleted whose files are still on the volume."""
        return [
            b["metadata"]["name"]
            for b in self.backups
            if b["metadata"].get("deletionTimestamp")
            and FINALIZER in (b["metadata"].get("finalizers") or [])
        ]

    async def _add_finalizer(self, obj: Obj) -> None:
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if FINALIZER in finalizers:
            return
        patch = {
            "metadata": {
                "finalizers": [*finalizers, FINALIZER],
                "resourceVersion": meta["resourceVersion"],
            }
        }
        updated = await self.kube.patch(obj["kind"], meta["name"], meta["namespace"], patch)
        obj["metadata"] = updated["metadata"]

    async def _finish_prunes(self, now: datetime) -> None:
        """Release backups whose files a finished prune Job removed; retry a failed prune."""
        for name, job in list(self.jobs.items()):
            if job["metadata"].get("labels", {}).get(render.OPERATION_LABEL) != "prune":
                continue
            job_state = state.JobState.of(job)
            if job_state.failed:
                failed_at = state.parse_time(job_state.completion) or now
                wait = state.PRUNE_RETRY_SECONDS - (now - failed_at).total_seconds()
                if wait > 0:
                    self._requeue(wait)
                    continue
                await events.post(
                    self.kube,
                    self.body,
                    "Warning",
                    "PruneFailed",
                    f"Job {name} could not delete old backup files ({job_state.message}); retrying",
                )
                await self.kube.delete("Job", name, self.instance.namespace)
                self.jobs.pop(name, None)
                continue
            if not job_state.succeeded:
                continue
            pruned = set(
                job["metadata"].get("annotations", {}).get(render.TARGET_ANNOTATION, "").split()
            )
            for backup in self.backups:
                meta = backup["metadata"]
                if meta["name"] in pruned and meta.get("deletionTimestamp"):
                    await self._remove_finalizer(backup)
        self.backups = [
            b
            for b in self.backups
            if not (b["metadata"].get("deletionTimestamp") and not b["metadata"].get("finalizers"))
        ]

    async def _remove_finalizer(self, obj: Obj) -> None:
        meta = obj["metadata"]
        finalizers = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        try:
            await self.kube.patch(obj["kind"], meta["name"], meta["namespace"], patch)
        except ApiError as err:
            if not err.not_found:
                raise
        meta["finalizers"] = finalizers

    async def _retain(self, now: datetime) -> None:
        """Delete the backups the retention no longer keeps (their files go by prune Job)."""
        restore = self._active_restore()
        protected = [str((restore.get("spec") or {}).get("backup"))] if restore else []
        views = [state.Backup.of(b) for b in self.backups]
        doomed = state.expired(
            views, self.spec.backup.retention, bool(self.spec.backup.schedule), now, protected
        )
        if not doomed:
            return
        for name in doomed:
            await self.kube.delete(BACKUP_KIND, name, self.instance.namespace)
        # As the API server now has them: terminating (held by the finalizer) or gone.
        kept = []
        for backup in self.backups:
            meta = backup["metadata"]
            if meta["name"] in doomed:
                if not meta.get("finalizers"):
                    continue
                meta["deletionTimestamp"] = state.format_time(now)
            kept.append(backup)
        self.backups = kept
        await events.post(
            self.kube,
            self.body,
            "Normal",
            "BackupsExpired",
            f"retention deletes backup(s) {', '.join(doomed)}",
        )
        self._requeue(1.0)  # their deletion is seen next pass: prune then

    def _requeue(self, seconds: float) -> None:
        seconds = max(1.0, seconds)
        self.requeue_after = (
            seconds if self.requeue_after is None else min(self.requeue_after, seconds)
        )

    # ---- status ------------------------------------------------------------------------

    def decorate(self, status: Obj, previous: Mapping[str, Any] | None) -> None:
        """Add ``status.backup`` and the BackupReady and Restoring conditions to ``status``."""
        self.report().decorate(status, previous, int(self.body["metadata"].get("generation") or 0))

    def report(self) -> BackupReport:
        """What the status says of backups and restores, as this reconcile found them."""
        if not self.available:
            return BackupReport(available=False)
        views = [state.Backup.of(b) for b in self.backups]
        ready = state.backup_condition(views, bool(self.spec.backup.schedule), self.embedded)
        if self.error is not None:
            ready = ("False", "BackupError", f"the API server refused a write: {self.error}")
        return BackupReport(
            ready=ready,
            restoring=state.restoring_condition(self.restores),
            summary=state.summary(views, self.next_due),
        )


@dataclass(frozen=True)
class BackupReport:
    """The status' backup parts: small, so that it can be kept between reconciles."""

    available: bool = True  # False: the backup CRDs are not installed (nothing is said)
    ready: tuple[str, str, str] | None = None  # BackupReady (status, reason, message)
    restoring: tuple[str, str, str] | None = None  # Restoring
    summary: Obj | None = None  # status.backup

    def decorate(self, status: Obj, previous: Mapping[str, Any] | None, generation: int) -> None:
        """Add ``status.backup`` and the BackupReady and Restoring conditions to ``status``."""
        if not self.available:
            return
        before = {c.get("type"): c for c in (previous or {}).get("conditions") or []}
        extra = [("BackupReady", self.ready), ("Restoring", self.restoring)]
        status["conditions"] = [
            *status.get("conditions", []),
            *(status_condition(t, *v, generation, before) for t, v in extra if v is not None),
        ]
        if self.summary is not None:
            status["backup"] = self.summary


async def release_deleted_backups(kube: Kube, instance: Instance) -> list[str]:
    """Let go of the instance's backups that wait for a prune while the instance itself goes.

    Called by the LiteMaaS finalizer: with the instance gone no loop would ever prune for
    them, and they would hold their namespace's deletion forever. Their files stay on the
    backup volume (retained with the data, or deleted with it on opt-in).
    """
    try:
        items = await kube.list(BACKUP_KIND, instance.namespace)
    except ApiError as err:
        if err.status in (403, 404):
            return []
        raise
    released = []
    for obj in items:
        meta = obj["metadata"]
        if (
            (obj.get("spec") or {}).get("instance") == instance.name
            and meta.get("deletionTimestamp")
            and FINALIZER in (meta.get("finalizers") or [])
        ):
            finalizers = [f for f in meta["finalizers"] if f != FINALIZER]
            patch = {
                "metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}
            }
            try:
                await kube.patch(BACKUP_KIND, meta["name"], instance.namespace, patch)
            except ApiError as err:
                if not err.not_found:
                    raise
            released.append(f"{BACKUP_KIND}/{meta['name']}")
    return released
