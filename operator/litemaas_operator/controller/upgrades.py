"""Guarded upgrades against the API server: the thin part of ``litemaas_operator.upgrade``.

Per reconcile: read what each LiteMaaS Deployment was rendered with, look up (or create) the
pre-upgrade ``LiteMaaSBackup`` the plan asks for, hand the plan's pins to the renderer, and
report the ``Upgrading`` condition, ``status.version`` and an Event at each transition. Nothing
is kept between reconciles: the Deployments, the backup and the CR's last status say where an
upgrade stands, so an operator killed at any step carries on from there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..api import GROUP, VERSION, LiteMaaSSpec
from ..facts import Instance
from ..render.endpoints import Problem
from ..render.names import MANAGED_BY, RETAIN_LABEL, Names
from ..render.targets import IMAGE_ANNOTATION
from ..upgrade.plan import PRE_UPGRADE, Backup, Deployed, PlanInput, UpgradePlan, Upgrading, plan
from ..upgrade.targets import Pin, WorkloadName
from .conditions import ComponentState, condition
from .events import post_about_instance as post_event
from .kube import FIELD_MANAGER, ApiError, Kind, Kube
from .observe import workload_state

log = logging.getLogger(__name__)

BACKUP_KIND = "LiteMaaSBackup"
BACKUPS = Kind(f"{GROUP}/{VERSION}", "litemaasbackups")
UPGRADING = "Upgrading"
VERSION_LABEL = "app.kubernetes.io/version"
# Reasons that need a person: announced as Warning Events.
BLOCKED = frozenset({"DowngradeRefused", "PreUpgradeBackupFailed"})

Live = Mapping[tuple[str, str], dict[str, Any]]  # (kind, name) -> object


def deployed(obj: dict[str, Any], container: str) -> Deployed:
    """What one Deployment was rendered with, and whether its rollout of that is done.

    The version is the Deployment's version label; the image is the one the operator recorded
    (``litemaas.io/image``), not the template's: someone editing the template's image is drift
    to put back, not an upgrade in progress to hold. Deployments written before the record
    existed fall back to the template's image.
    """
    meta = obj.get("metadata") or {}
    pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = pod.get("containers") or [{}]
    main = next((c for c in containers if c.get("name") == container), containers[0])
    running = main.get("image")
    image = (meta.get("annotations") or {}).get(IMAGE_ANNOTATION) or running
    version = (meta.get("labels") or {}).get(VERSION_LABEL)
    pin = Pin(version, image) if version and image else None
    return Deployed(pin, running == image and workload_state(obj, "Deployment").ready)


def deployed_workloads(live: Live, names: Names) -> dict[WorkloadName, Deployed]:
    """The LiteMaaS workloads that exist, by name."""
    found: dict[WorkloadName, Deployed] = {}
    workloads: tuple[tuple[WorkloadName, str], ...] = (
        ("backend", names.backend),
        ("frontend", names.frontend),
        ("litellm", names.litellm),
    )
    for workload, name in workloads:
        obj = live.get(("Deployment", name))
        if obj is not None:
            found[workload] = deployed(obj, workload)
    return found


def backup_manifest(instance: Instance, name: str) -> dict[str, Any]:
    """The pre-upgrade LiteMaaSBackup.

    No ownerReference: a backup is data and outlives the LiteMaaS resource, as the database's
    volume does (the retain label also keeps a prune from ever taking it).
    """
    return {
        "apiVersion": BACKUPS.api_version,
        "kind": BACKUP_KIND,
        "metadata": {
            "name": name,
            "namespace": instance.namespace,
            "labels": {
                "app.kubernetes.io/name": "litemaas",
                "app.kubernetes.io/instance": instance.name,
                "app.kubernetes.io/part-of": "litemaas",
                "app.kubernetes.io/managed-by": MANAGED_BY,
                RETAIN_LABEL: "true",
            },
        },
        "spec": {"instance": instance.name, "reason": PRE_UPGRADE},
    }


async def read_backup(kube: Kube, namespace: str, name: str) -> Backup | None:
    """A LiteMaaSBackup's phase and message, or None when it does not exist."""
    try:
        obj = await kube.request("GET", BACKUPS.path(namespace, name))
    except ApiError as err:
        if err.not_found:
            return None
        raise
    status = obj.get("status") or {}
    return Backup(name, str(status.get("phase") or ""), str(status.get("message") or ""))


async def create_backup(kube: Kube, instance: Instance, name: str) -> str | None:
    """Create the pre-upgrade backup; an error a person must act on as a message, else None."""
    try:
        await kube.request(
            "POST",
            BACKUPS.path(instance.namespace),
            body=backup_manifest(instance, name),
            query={"fieldManager": FIELD_MANAGER},
        )
    except ApiError as err:
        if err.conflict:  # taken by an earlier run of this reconcile: the same backup
            return None
        if err.status in (400, 403, 404, 422):
            # 404: the LiteMaaSBackup API is not served (its CRD is not installed).
            return f"could not create LiteMaaSBackup {name}: {err.status} {err.message}"
        raise
    log.info("created pre-upgrade backup %s/%s", instance.namespace, name)
    return None


def _blocked(first: UpgradePlan, message: str) -> UpgradePlan:
    """``first`` (holding every workload), stalled by a backup that could not be created."""
    message += (
        ". Nothing was rolled. Set spec.upgrade.backupBeforeUpgrade: false to upgrade without "
        "a backup"
    )
    return replace(
        first,
        upgrading=Upgrading(False, "PreUpgradeBackupFailed", message),
        blocked=Problem("invalid", "backend", "PreUpgradeBackupFailed", message),
        backup_to_create=None,
    )


async def prepare(
    kube: Kube,
    body: dict[str, Any],
    spec: LiteMaaSSpec,
    instance: Instance,
    live: Live,
    may_back_up: bool = True,
) -> UpgradePlan:
    """The upgrade plan of this reconcile, with the backup it needs looked up or created.

    ``may_back_up`` False (nothing is applied this time: credentials lost, platform unknown):
    no backup is created, since its Job could not log in or would back up nothing new; the
    plan still holds the rollout until one completes.
    """
    inputs = plan_input(body, spec, instance, live)
    first = plan(inputs)
    name = first.backup_to_create
    if name is None:
        return first
    backup = await read_backup(kube, instance.namespace, name)
    if backup is not None:
        return plan(replace(inputs, backup=backup))
    if not may_back_up:
        return first
    error = await create_backup(kube, instance, name)
    return first if error is None else _blocked(first, error)


def plan_input(
    body: Mapping[str, Any], spec: LiteMaaSSpec, instance: Instance, live: Live
) -> PlanInput:
    """What the plan reads: the Deployments as they are, and the CR's last status."""
    status = body.get("status") or {}
    return PlanInput(
        instance.name,
        spec,
        deployed_workloads(live, Names(instance)),
        reported_version=status.get("version"),
        was_upgrading=_upgrading(status).get("status") == "True",
    )


def quiet(upgrade: UpgradePlan) -> bool:
    """Whether nothing is under way or held: no upgrade rolling, no backup wanted, no refusal.

    A child's status news then cannot move the plan to an action, only change what it reports
    (an install becoming "UpToDate", the version running everywhere): observing will do.
    """
    return not upgrade.upgrading.active and upgrade.backup_to_create is None and not upgrade.blocked


def replan(before: UpgradePlan, inputs: PlanInput) -> UpgradePlan | None:
    """The plan again from the live children alone, if it stays on ``before``'s course: the
    same pins and still quiet; None when it moved (a whole reconcile must act on it)."""
    after = plan(inputs)
    if not (quiet(before) and quiet(after)) or after.targets != before.targets:
        return None
    return after


def problems(upgrade: UpgradePlan) -> list[Problem]:
    """A refused downgrade or a failed backup: the CR goes Stalled with that reason."""
    return [upgrade.blocked] if upgrade.blocked else []


def fold(components: dict[str, ComponentState], upgrade: UpgradePlan) -> dict[str, ComponentState]:
    """Components with the backend reported not ready while an upgrade is under way.

    Backing up, the old pods still serve and are ready; but the spec asks for a version that
    does not run yet, so the CR must not read Ready (kstatus would call it Current).
    """
    upgrading = upgrade.upgrading
    state = components.get("backend")
    if not upgrading.active or state is None or not state.ready:
        return components
    held = replace(state, ready=False, reason=upgrading.reason, message=upgrading.message)
    return {**components, "backend": held}


def _upgrading(status: Mapping[str, Any]) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c.get("type") == UPGRADING), {})


def upgrading_condition(step: Upgrading, generation: int, old: Mapping[str, Any]) -> dict[str, Any]:
    """The Upgrading condition for ``step``, keeping ``old``'s transition time if unflipped."""
    previous = {UPGRADING: old}
    return condition(UPGRADING, step.active, step.reason, step.message, generation, previous)


def announcement(old: Mapping[str, Any], step: Upgrading) -> tuple[str, str] | None:
    """The Event (type, reason) for a change of the Upgrading condition, or None.

    Every step of an upgrade, its end and each refusal are announced; a first install, and a
    status written again with the same reason, are not.
    """
    if old.get("reason") == step.reason:
        return None
    if not (step.active or step.reason in BLOCKED or old.get("status") == "True"):
        return None
    kind = "Warning" if step.reason in BLOCKED else "Normal"
    return kind, "Upgraded" if step.reason == "UpToDate" else step.reason


async def report_upgrade(
    kube: Kube, body: dict[str, Any], status: dict[str, Any], upgrade: UpgradePlan
) -> dict[str, Any]:
    """``status`` with the Upgrading condition added; an Event at each of its transitions.

    The Event is posted before the status that records the transition is written: a kill in
    between posts it again, which is better than never.
    """
    old = _upgrading(body.get("status") or {})
    generation = int(body["metadata"].get("generation") or 0)
    step = upgrade.upgrading
    event = announcement(old, step)
    if event is not None:
        await post_event(kube, body, *event, step.message)
    new = upgrading_condition(step, generation, old)
    return {**status, "conditions": [*status["conditions"], new]}
