"""Volume growth, decided without I/O: what the spec asks vs. the PVCs and StatefulSet there are.

Raising ``spec.database.storage.size`` or ``spec.backend.backupStorage.size`` grows the volume in
place, the way Kubernetes supports it: the PVC's request is patched (its StorageClass must allow
expansion), the storage provider grows the volume and reports ``status.capacity``. The database's
StatefulSet carries the size in its immutable ``volumeClaimTemplates``, so it is deleted with
orphan cascading (its pod keeps running, the PVC is never touched) and re-created with the new
template; the new StatefulSet adopts the running pod.

Everything here is a function of objects read from the cluster, so an operator killed at any step
picks up from what the cluster shows: a PVC already patched is not patched again, a StatefulSet
already deleted is simply created. Shrinking, expanding on a class that does not allow it, and
changing the class of an existing volume are refused, and nothing is changed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from .render.endpoints import Problem
from .render.names import Names

Live = Mapping[tuple[str, str], dict[str, Any]]  # (kind, name) -> object
Action = Literal["none", "expand", "wait", "refuse"]

# Condition reasons (metav1 reasons cannot hold object names: those are in the messages).
EXPANDING = "VolumeExpanding"
FS_RESIZE_PENDING = "FileSystemResizePending"
WAITING_FOR_BINDING = "WaitingForVolumeBinding"
REPLACING = "ReplacingStatefulSet"
SHRINK_REFUSED = "VolumeShrinkRefused"
UNSUPPORTED = "VolumeExpansionUnsupported"
CLASS_CHANGE_REFUSED = "StorageClassChangeRefused"
EXPANSION_FAILED = "VolumeExpansionFailed"
REFUSALS = (SHRINK_REFUSED, UNSUPPORTED, CLASS_CHANGE_REFUSED, EXPANSION_FAILED)


# A Kubernetes quantity's suffixes (apimachinery's resource.Quantity): binary, then decimal.
BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
DECIMAL_SUFFIXES = {"n": -3, "u": -2, "m": -1, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def quantity(value: str | int) -> Decimal:
    """A Kubernetes quantity by value, so ``10Gi`` and ``10240Mi`` compare equal.

    Raises ValueError for what is not one (the CRD's pattern has refused those already).
    """
    text = str(value).strip()
    base, power, number = 1, 0, text
    if text[-2:] in BINARY_SUFFIXES:
        base, power, number = 1024, BINARY_SUFFIXES[text[-2:]], text[:-2]
    elif text[-1:] in DECIMAL_SUFFIXES:
        base, power, number = 1000, DECIMAL_SUFFIXES[text[-1:]], text[:-1]
    try:
        parsed = Decimal(number)
    except InvalidOperation as err:
        raise ValueError(f"not a quantity: {value!r}") from err
    if not parsed.is_finite():
        raise ValueError(f"not a quantity: {value!r}")
    return parsed * Decimal(base) ** power


@dataclass(frozen=True)
class Claim:
    """A volume the spec asks for: its PVC and the size and class it should have."""

    name: str  # the PVC
    component: str  # the component condition a problem lands on: database, backend
    field: str  # where a person changes it, e.g. spec.database.storage
    size: str
    storage_class: str | None  # None: whatever class the claim got (the default at creation)


@dataclass(frozen=True)
class VolumeStep:
    """What to do about one claim, and what to say about it."""

    claim: Claim
    action: Action
    reason: str = ""
    message: str = ""
    requested: str | None = None  # the live PVC's request
    storage_class: str | None = None  # the live PVC's class


@dataclass(frozen=True)
class StatefulSetStep:
    """What to do about the StatefulSet whose claim template carries the size.

    ``keep``: its template already matches (or there is none yet: the apply creates it);
    ``replace``: delete it with orphan cascading, the next reconcile creates it again;
    ``hold``: leave it as it is (a refusal, or it is still being deleted).
    """

    name: str
    action: Literal["keep", "replace", "hold"]
    uid: str = ""
    message: str = ""


@dataclass
class ResizePlan:
    """The decision for one reconcile: PVC patches, a StatefulSet replacement, held objects."""

    steps: list[VolumeStep] = field(default_factory=list)
    statefulset: StatefulSetStep | None = None
    # The desired objects to apply: where a change is refused or still under way, the size and
    # class fields carry the live values, so the apply neither fails nor changes them.
    objects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def expand(self) -> list[VolumeStep]:
        """Claims whose request must be patched to the new size."""
        return [s for s in self.steps if s.action == "expand"]

    @property
    def problems(self) -> list[Problem]:
        """Refusals, as problems a person must act on (the CR goes Stalled)."""
        return [
            Problem("invalid", s.claim.component, s.reason, s.message)
            for s in self.steps
            if s.action == "refuse"
        ]

    def resizing(self) -> list[tuple[str, str, str]]:
        """(component, reason, message) of every resize still under way."""
        out = [
            (s.claim.component, s.reason, s.message)
            for s in self.steps
            if s.action in ("expand", "wait")
        ]
        sts = self.statefulset
        if sts is not None and sts.message:
            out.append(("database", REPLACING, sts.message))
        return out


def wanted_claims(objects: Sequence[dict[str, Any]], names: Names) -> list[Claim]:
    """The claims the rendered objects ask for: the database's and the backend's backup."""
    claims = []
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "StatefulSet" and name == names.postgres:
            for template in obj["spec"].get("volumeClaimTemplates") or []:
                size, cls = _size_and_class(template)
                # One ordinal: the embedded PostgreSQL runs one instance (database.replicas <= 1).
                pvc = f"{template['metadata']['name']}-{name}-0"
                claims.append(Claim(pvc, "database", "spec.database.storage", size, cls))
        elif kind == "PersistentVolumeClaim" and name == names.backend_backup:
            size, cls = _size_and_class(obj)
            claims.append(Claim(name, "backend", "spec.backend.backupStorage", size, cls))
    return claims


def classes_to_read(claims: Sequence[Claim], live: Live) -> set[str]:
    """StorageClasses whose ``allowVolumeExpansion`` decides a growth: nothing in steady state."""
    out = set()
    for claim in claims:
        pvc = live.get(("PersistentVolumeClaim", claim.name))
        if pvc is None:
            continue
        requested, cls = _size_and_class(pvc)
        if cls and quantity(claim.size) > quantity(requested):
            out.add(cls)
    return out


def plan_volume(
    claim: Claim, pvc: dict[str, Any] | None, storage_class: dict[str, Any] | None
) -> VolumeStep:
    """Decide one claim from its live PVC and the StorageClass the PVC uses.

    ``storage_class`` is the class named by the PVC (None: not found, or not read because no
    growth is asked). A spec without a class means "the class the claim has": the cluster's
    default at creation time, which the API server wrote into the PVC.
    """
    if pvc is None:
        return VolumeStep(claim, "none")  # created by the apply (or the StatefulSet) as asked
    requested, live_class = _size_and_class(pvc)
    step = {"requested": requested, "storage_class": live_class}
    where = f"PersistentVolumeClaim {claim.name}"
    if claim.storage_class and claim.storage_class != live_class:
        return VolumeStep(
            claim,
            "refuse",
            CLASS_CHANGE_REFUSED,
            f"{where} uses StorageClass {live_class or '(none)'} and "
            f"{claim.field}.storageClassName asks for {claim.storage_class}: the class of an "
            f"existing volume cannot change. Set {claim.field}.storageClassName back to "
            f"{live_class or 'empty'}, or move the data to a new volume yourself",
            **step,
        )
    want, have = quantity(claim.size), quantity(requested)
    if want < have:
        return VolumeStep(
            claim,
            "refuse",
            SHRINK_REFUSED,
            f"{where} requests {requested} and {claim.field}.size asks for {claim.size}: volumes "
            f"cannot shrink. Set {claim.field}.size to {requested} or more",
            **step,
        )
    status = pvc.get("status") or {}
    capacity = (status.get("capacity") or {}).get("storage")
    if want > have:
        if status.get("phase") != "Bound":
            # The API server lets a claim's request change only once it is bound.
            return VolumeStep(
                claim,
                "wait",
                WAITING_FOR_BINDING,
                f"{where}: growing to {claim.size} once it is bound (it is "
                f"{status.get('phase') or 'Pending'})",
                **step,
            )
        if storage_class is None or storage_class.get("allowVolumeExpansion") is not True:
            why = (
                f"its StorageClass {live_class} does not allow volume expansion"
                if storage_class is not None
                else (
                    f"its StorageClass {live_class} does not exist"
                    if live_class
                    else "it has no StorageClass"
                )
            )
            return VolumeStep(
                claim,
                "refuse",
                UNSUPPORTED,
                f"{where} cannot grow from {requested} to {claim.size}: {why}. Set "
                f"{claim.field}.size back to {requested}, or ask a cluster administrator to set "
                f"allowVolumeExpansion: true on StorageClass {live_class or '(none)'}",
                **step,
            )
        return VolumeStep(
            claim,
            "expand",
            EXPANDING,
            f"{where}: growing from {requested} to {claim.size} (capacity {capacity or requested})",
            **step,
        )
    if status.get("phase") == "Bound" and (capacity is None or quantity(capacity) < have):
        # Patched (by us, perhaps before a restart): the provider has not reported it yet.
        pending = any(
            c.get("type") == FS_RESIZE_PENDING and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        return VolumeStep(
            claim,
            "wait",
            FS_RESIZE_PENDING if pending else EXPANDING,
            f"{where}: growing to {requested}, capacity {capacity or 'unknown'}; "
            + (
                "the volume is grown, the node grows the file system next"
                if pending
                else "waiting for the storage provider"
            ),
            **step,
        )
    return VolumeStep(claim, "none", **step)


def plan_statefulset(
    desired: dict[str, Any], live: dict[str, Any] | None, steps: Sequence[VolumeStep]
) -> StatefulSetStep:
    """Decide whether the StatefulSet must be re-created for its claim template to match."""
    name = desired["metadata"]["name"]
    if live is None:
        return StatefulSetStep(name, "keep")  # the apply creates it with the new template
    live_templates = {
        t["metadata"]["name"]: t for t in live["spec"].get("volumeClaimTemplates") or []
    }
    changed = []
    for template in desired["spec"].get("volumeClaimTemplates") or []:
        old = live_templates.get(template["metadata"]["name"])
        if old is None:
            continue  # a different template shape is not a resize: the apply reports it
        (size, cls), (old_size, old_cls) = _size_and_class(template), _size_and_class(old)
        if quantity(size) != quantity(old_size) or cls != old_cls:
            changed.append(f"{old_size} to {size}" if cls == old_cls else f"class to {cls}")
    if not changed:
        return StatefulSetStep(name, "keep")
    if live["metadata"].get("deletionTimestamp"):
        # Deleted with orphan cascading (perhaps by an operator since killed): wait until it
        # is gone; the apply after that creates the new one.
        return StatefulSetStep(
            name, "hold", message=f"StatefulSet {name}: waiting for the old one to be deleted"
        )
    if any(s.action == "refuse" for s in steps):
        return StatefulSetStep(name, "hold")
    return StatefulSetStep(
        name,
        "replace",
        uid=live["metadata"].get("uid", ""),
        message=f"StatefulSet {name}: re-creating it with its claim template changed "
        f"({', '.join(changed)}); its pod keeps running",
    )


def plan_resize(
    objects: Sequence[dict[str, Any]],
    live: Live,
    classes: Mapping[str, dict[str, Any] | None],
    names: Names,
    failed: Mapping[str, str] | None = None,
) -> ResizePlan:
    """The whole decision: volume steps, the StatefulSet's, and the objects to apply.

    ``classes`` holds the StorageClasses ``classes_to_read`` named (None: not found).
    ``failed`` maps a PVC to the API server's answer when its patch was refused (a quota, an
    admission webhook): it is then reported as a refusal, and everything held as for one.
    """
    steps = []
    for claim in wanted_claims(objects, names):
        pvc = live.get(("PersistentVolumeClaim", claim.name))
        cls_name = _size_and_class(pvc)[1] if pvc is not None else None
        step = plan_volume(claim, pvc, classes.get(cls_name) if cls_name else None)
        if failed and claim.name in failed:
            step = VolumeStep(
                claim,
                "refuse",
                EXPANSION_FAILED,
                f"PersistentVolumeClaim {claim.name}: the API server refused to grow it to "
                f"{claim.size}: {failed[claim.name]}",
                step.requested,
                step.storage_class,
            )
        steps.append(step)
    plan = ResizePlan(steps)
    # Every claim not being grown right now is applied as it is: refused or under way, it must
    # not change; unchanged, the live spelling (10Gi for 10240Mi) keeps the apply from
    # rewriting it on every resync.
    held = {s.claim.name: s for s in steps if s.action != "expand" and s.requested}
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "StatefulSet" and name == names.postgres:
            current = live.get(("StatefulSet", name))
            plan.statefulset = plan_statefulset(obj, current, steps)
            if current is not None:  # immutable: only ever applied as it is
                obj = _with_live_templates(obj, current)
        elif kind == "PersistentVolumeClaim" and name in held:
            obj = _with_size_and_class(obj, held[name].requested, held[name].storage_class)
        plan.objects.append(obj)
    return plan


def _size_and_class(claim: dict[str, Any] | None) -> tuple[str, str | None]:
    """(requested storage, storageClassName or None) of a PVC or a claim template."""
    spec = (claim or {}).get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage") or "0"
    return str(size), spec.get("storageClassName") or None


def _with_size_and_class(claim: dict[str, Any], size: str | None, cls: str | None) -> dict:
    """A copy of a PVC or claim template asking for ``size`` and, if it names one, ``cls``."""
    out = copy.deepcopy(claim)
    if size is not None:
        out["spec"]["resources"]["requests"]["storage"] = size
    if "storageClassName" in out["spec"]:
        if cls:
            out["spec"]["storageClassName"] = cls
        else:
            del out["spec"]["storageClassName"]
    return out


def _with_live_templates(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The desired StatefulSet with the live claim templates' sizes and classes (immutable)."""
    live_templates = {
        t["metadata"]["name"]: t for t in live["spec"].get("volumeClaimTemplates") or []
    }
    out = copy.deepcopy(desired)
    templates = []
    for template in out["spec"].get("volumeClaimTemplates") or []:
        old = live_templates.get(template["metadata"]["name"])
        if old is not None:
            size, cls = _size_and_class(old)
            template = _with_size_and_class(template, size, None)
            if cls:
                template["spec"]["storageClassName"] = cls
            else:
                template["spec"].pop("storageClassName", None)
        templates.append(template)
    out["spec"]["volumeClaimTemplates"] = templates
    return out
