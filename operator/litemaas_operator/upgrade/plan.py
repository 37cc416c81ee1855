"""The upgrade plan: which version and image each LiteMaaS workload may run now. Pure.

Everything it decides from is in the cluster: the spec, what each Deployment was last rendered
with (its version label and recorded image) and whether that has rolled out, the phase of the
pre-upgrade LiteMaaSBackup, and the CR's last reported status. The operator keeps no memory of
an upgrade: killed at any step, the next reconcile reads the same objects and plans the same.

The order is upstream's (design.md, "Day 2"):

1. a version lower than the one running is refused unless ``upgrade.allowDowngrade``;
2. a pre-upgrade backup of both databases, and nothing rolls until it has Completed
   (skipped with ``upgrade.backupBeforeUpgrade: false`` or an external database);
3. the backend and frontend roll;
4. LiteLLM rolls to a new image once the backend runs the new version and is Ready.

``status.version`` is the version every workload's rollout has finished at, not the spec's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..api.spec import LiteMaaSSpec
from ..render.endpoints import Problem
from ..render.pods import litemaas_image
from ..render.targets import spec_targets
from .semver import is_downgrade, parse
from .targets import WORKLOADS, Pin, Targets, WorkloadName

# Kept to a DNS label's length: a backup controller names its Job (and the Job its pods'
# ``job-name`` label) after the backup.
BACKUP_NAME_MAX = 63
PRE_UPGRADE = "pre-upgrade"
DOCS = "docs/upgrade.md"


@dataclass(frozen=True)
class Deployed:
    """One workload as its Deployment says: the pin it was rendered with, and if it rolled out.

    ``rolled_out`` is true when the Deployment's template holds that pin and its rollout is
    done (observedGeneration current, every replica updated, ready and available).
    """

    pin: Pin | None
    rolled_out: bool

    def runs(self, pin: Pin) -> bool:
        """Whether this workload runs ``pin`` everywhere."""
        return self.pin == pin and self.rolled_out


@dataclass(frozen=True)
class Backup:
    """A LiteMaaSBackup as read: its phase is "" until the backup controller has set one."""

    name: str
    phase: str
    message: str = ""


@dataclass(frozen=True)
class Upgrading:
    """The ``Upgrading`` condition: True while an upgrade makes progress by itself."""

    active: bool
    reason: str
    message: str


@dataclass(frozen=True)
class PlanInput:
    """What the plan reads; ``deployed`` lacks a workload whose Deployment does not exist."""

    instance: str
    spec: LiteMaaSSpec
    deployed: Mapping[WorkloadName, Deployed]
    backup: Backup | None = None
    reported_version: str | None = None  # status.version as last written
    was_upgrading: bool = False  # the last written Upgrading condition was True


@dataclass(frozen=True)
class UpgradePlan:
    """What may run now, how to report it, and what to do first."""

    targets: Targets
    upgrading: Upgrading
    running_version: str | None
    # The LiteMaaSBackup to look up or create before anything rolls.
    backup_to_create: str | None = None
    # Why nothing rolls until a person acts (Stalled), else None.
    blocked: Problem | None = None


def backup_name(instance: str, targets: Targets) -> str:
    """The pre-upgrade backup's name: the same for the same move, so a restart reuses it.

    ``<instance>-pre-upgrade-<version>-<hash>``; the hash covers the instance and every target
    image, so an image-only change gets its own backup and a truncated name stays unique.
    """
    pins = [targets.of(w) for w in WORKLOADS]
    digest = hashlib.sha256(
        json.dumps([instance, *[[p.version, p.image] for p in pins]]).encode()
    ).hexdigest()[:6]
    # A DNS subdomain: lowercase, and no '-' beside a '.' (a pre-release such as rc.-1 has one).
    version = re.sub(r"-*\.-*", ".", targets.backend.version.lower())
    base = f"{instance}-{PRE_UPGRADE}-{version}"[: BACKUP_NAME_MAX - len(digest) - 1]
    return f"{base.rstrip('-.')}-{digest}"


def running_version(deployed: Mapping[WorkloadName, Deployed], reported: str | None) -> str | None:
    """The version every workload has finished rolling out, else the last one reported.

    Mid-upgrade the backend may run the new version while LiteLLM still rolls: the version
    "running everywhere" is then still the old one, which is what was last reported.
    """
    found = [deployed.get(w) for w in WORKLOADS]
    versions = {d.pin.version for d in found if d is not None and d.pin is not None}
    if len(versions) == 1 and all(d is not None and d.rolled_out for d in found):
        return versions.pop()
    return reported


def _current_version(deployed: Mapping[WorkloadName, Deployed]) -> str | None:
    """The highest LiteMaaS version the backend or frontend is rendered for (the schema's)."""
    versions = [
        d.pin.version
        for w in ("backend", "frontend")
        if (d := deployed.get(w)) is not None and d.pin is not None and parse(d.pin.version)
    ]
    return max(versions, key=parse, default=None)  # type: ignore[arg-type]


def _progress(
    deployed: Mapping[WorkloadName, Deployed], desired: Targets, note: str
) -> tuple[str, str]:
    """The Upgrading reason and message while workloads roll towards ``desired``."""
    suffix = f" ({note})" if note else ""
    if not all(_runs(deployed, w, desired.of(w)) for w in ("backend", "frontend")):
        then = (
            "; LiteLLM follows once the backend is ready"
            if not _runs(deployed, "litellm", desired.litellm)
            else ""
        )
        return "RollingBackend", (
            f"rolling the backend and frontend to {desired.backend.version}{then}{suffix}"
        )
    return "RollingLiteLLM", (
        f"rolling LiteLLM to {desired.litellm.image}: the backend runs "
        f"{desired.backend.version} and is ready{suffix}"
    )


def _runs(deployed: Mapping[WorkloadName, Deployed], workload: WorkloadName, pin: Pin) -> bool:
    found = deployed.get(workload)
    return found is not None and found.runs(pin)


def _held(
    deployed: Mapping[WorkloadName, Deployed], workload: WorkloadName, desired: Targets
) -> Pin:
    """What ``workload`` keeps until the plan lets it move: what its Deployment was rendered with.

    A backend or frontend whose Deployment is gone (deleted by hand mid-upgrade) comes back at
    its sibling's version, not at one the backup has not covered yet.
    """
    found = deployed.get(workload)
    if found is not None and found.pin is not None:
        return found.pin
    sibling = deployed.get("frontend" if workload == "backend" else "backend")
    if workload == "litellm" or sibling is None or sibling.pin is None:
        return desired.of(workload)
    if sibling.pin.version == desired.of(workload).version:
        return desired.of(workload)
    return Pin(sibling.pin.version, litemaas_image(workload, sibling.pin.version))


def _backup_note(spec: LiteMaaSSpec) -> str | None:
    """Why no pre-upgrade backup is taken, or None when one is."""
    if spec.database.mode == "external":
        return "pre-upgrade backup skipped: the database is external, back it up yourself"
    if not spec.upgrade.backup_before_upgrade:
        return "pre-upgrade backup skipped: spec.upgrade.backupBeforeUpgrade is false"
    return None


def plan(inp: PlanInput) -> UpgradePlan:
    """Decide what each workload may run now (see the module's docstring for the order)."""
    spec, deployed = inp.spec, inp.deployed
    desired = spec_targets(spec)
    running = running_version(deployed, inp.reported_version)
    if not any(found.pin for found in deployed.values()):
        # Nothing of this instance runs LiteMaaS yet: a first install is not an upgrade.
        return UpgradePlan(
            desired,
            Upgrading(False, "Installing", f"installing {spec.version}: not an upgrade"),
            running,
        )
    # A workload keeps what its Deployment was rendered with until the plan lets it move.
    held = Targets(*(_held(deployed, w, desired) for w in WORKLOADS))
    changed = [w for w in WORKLOADS if held.of(w) != desired.of(w)]
    if not changed:
        return _settling(inp, desired, running)

    current = _current_version(deployed) or held.backend.version
    downgrade = is_downgrade(spec.version, current)
    move = f"from {current} to {spec.version}"
    if downgrade and not spec.upgrade.allow_downgrade:
        message = (
            f"spec.version {spec.version} is lower than the running {current}: the "
            "backend migrated the database schema forward when it started, and an older "
            "backend may not read it. Nothing was rolled. Set spec.upgrade.allowDowngrade: "
            f"true to downgrade anyway, or restore a backup ({DOCS})"
        )
        return UpgradePlan(
            held,
            Upgrading(False, "DowngradeRefused", message),
            running,
            blocked=Problem("invalid", "backend", "DowngradeRefused", message),
        )

    note = _backup_note(spec)
    if note is None:
        name = backup_name(inp.instance, desired)
        backup = inp.backup if inp.backup is not None and inp.backup.name == name else None
        if backup is None:
            return UpgradePlan(
                held,
                Upgrading(
                    True,
                    "BackingUp",
                    f"taking pre-upgrade backup {name} before the move {move}; nothing rolls "
                    "until it has completed",
                ),
                running,
                backup_to_create=name,
            )
        if backup.phase == "Failed":
            message = (
                f"pre-upgrade backup {name} failed"
                + (f": {backup.message}" if backup.message else "")
                + f". Nothing was rolled; still running {current}. Delete LiteMaaSBackup "
                f"{name} to take it again, or set spec.upgrade.backupBeforeUpgrade: false to "
                "upgrade without one"
            )
            return UpgradePlan(
                held,
                Upgrading(False, "PreUpgradeBackupFailed", message),
                running,
                blocked=Problem("invalid", "backend", "PreUpgradeBackupFailed", message),
            )
        if backup.phase != "Completed":
            return UpgradePlan(
                held,
                Upgrading(
                    True,
                    "BackingUp",
                    f"waiting for pre-upgrade backup {name} ({backup.phase or 'Pending'}) "
                    f"before the move {move}; nothing rolls until it has completed",
                ),
                running,
            )
        note = f"after pre-upgrade backup {name}"

    # The backend and frontend move together; LiteLLM keeps its image until the backend runs
    # the new version and is ready (its label alone moves at once: that rolls nothing).
    litellm = (
        desired.litellm
        if held.litellm.image == desired.litellm.image
        or _runs(deployed, "backend", desired.backend)
        else held.litellm
    )
    targets = Targets(desired.backend, desired.frontend, litellm)
    reason, message = _progress(deployed, desired, f"{'downgrade ' if downgrade else ''}{note}")
    return UpgradePlan(targets, Upgrading(True, reason, message), running)


def _settling(inp: PlanInput, desired: Targets, running: str | None) -> UpgradePlan:
    """Every Deployment holds the spec's pins: an upgrade still rolling out, or nothing to do."""
    version = desired.backend.version
    if all(_runs(inp.deployed, w, desired.of(w)) for w in WORKLOADS):
        return UpgradePlan(desired, Upgrading(False, "UpToDate", f"running {version}"), running)
    # Rolling out: part of an upgrade if the last status said so (an upgrade's last roll) or
    # the version last reported running differs; otherwise a configuration change.
    if inp.was_upgrading or (inp.reported_version not in (None, version)):
        reason, message = _progress(inp.deployed, desired, "")
        return UpgradePlan(desired, Upgrading(True, reason, message), running)
    if inp.reported_version is None:
        return UpgradePlan(
            desired,
            Upgrading(False, "Installing", f"installing {version}: not an upgrade"),
            running,
        )
    return UpgradePlan(desired, Upgrading(False, "UpToDate", f"running {version}"), running)
