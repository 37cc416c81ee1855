"""Why a workload's pods are stuck, read from what the API server reports. Pure.

``Deployment x: 0/1 ready`` says that something is wrong, not what. The kubelet and the
scheduler already say what in the pods' status (a container waiting in ``ImagePullBackOff``, a
``PodScheduled=False`` condition with the scheduler's message) and the PV controller in the
claims' phase: :func:`diagnose` turns that into one condition reason and a message a person
can act on, as ``kubectl describe`` would show it, and says whether the component has been
stuck long enough to need a person (``failed``: the CR goes ``Stalled``) or may still recover
by itself (``Reconciling``).

Nothing here is remembered between reconciles: how long a pod has been stuck comes from its own
timestamps, so a restarted operator reaches the same verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Condition reasons, most fundamental first: a pod that cannot get its volume cannot be
# scheduled either, and one that is not scheduled never pulls an image.
VOLUME_NOT_BOUND = "VolumeNotBound"
UNSCHEDULABLE = "Unschedulable"
IMAGE_PULL_FAILED = "ImagePullFailed"
CONTAINER_CONFIG_ERROR = "ContainerConfigError"
CONTAINER_START_FAILED = "ContainerStartFailed"
CRASH_LOOPING = "CrashLooping"
PRIORITY = (
    VOLUME_NOT_BOUND,
    UNSCHEDULABLE,
    IMAGE_PULL_FAILED,
    CONTAINER_CONFIG_ERROR,
    CONTAINER_START_FAILED,
    CRASH_LOOPING,
)
# The kubelet's waiting reasons (pkg/kubelet/images, kuberuntime) and what they mean here.
WAITING_REASONS = {
    "ErrImagePull": IMAGE_PULL_FAILED,
    "ImagePullBackOff": IMAGE_PULL_FAILED,
    "InvalidImageName": IMAGE_PULL_FAILED,
    "ErrImageNeverPull": IMAGE_PULL_FAILED,
    "CreateContainerConfigError": CONTAINER_CONFIG_ERROR,
    "CreateContainerError": CONTAINER_START_FAILED,
    "RunContainerError": CONTAINER_START_FAILED,
    "CrashLoopBackOff": CRASH_LOOPING,
}
DEFAULT_DEADLINE_SECONDS = 600.0  # Kubernetes' default progressDeadlineSeconds
REDACTED = "[REDACTED]"
# `NAME=value` as a runtime error quoting a container's environment would print it: the value
# may come from a Secret (secretKeyRef), so it never reaches a status message.
_ENV_ASSIGNMENT = re.compile(r"\b([A-Z][A-Z0-9_]*)=(\"[^\"]*\"|'[^']*'|\S+)")


@dataclass(frozen=True)
class Finding:
    """One thing that keeps one pod (or its claim) from starting."""

    reason: str
    pod: str
    message: str  # what is wrong and what to do, without the pod's name
    since: datetime | None  # when it began to block, for the deadline


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one workload: a condition reason and message, and whether it is stalled."""

    reason: str
    message: str
    failed: bool
    check_again_in: float | None = None  # seconds until ``failed`` would flip by time alone


def scrub(text: str, redact: Callable[[str], str] = lambda s: s) -> str:
    """``text`` without environment values and without any value ``redact`` knows is secret."""
    # Without a final full stop: the message goes on after it with "; what to do".
    return _ENV_ASSIGNMENT.sub(rf"\1={REDACTED}", redact(text)).strip().rstrip(".")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from the API server, or None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def duration(seconds: float) -> str:
    """``600`` -> ``10m``, ``90`` -> ``1m30s``, as kubectl prints ages."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s"]
    if secs == 0 and (hours or minutes):
        parts[2] = ""
    return "".join(parts)


def _condition(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == ctype), {})


def unready_since(pod: Mapping[str, Any]) -> datetime | None:
    """When the pod last stopped being ready (its creation if it never was)."""
    ready = _condition(pod, "Ready")
    if ready.get("status") == "False" and parse_time(ready.get("lastTransitionTime")):
        return parse_time(ready.get("lastTransitionTime"))
    return parse_time(pod.get("metadata", {}).get("creationTimestamp"))


def selects(workload: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """Whether the workload's ``spec.selector.matchLabels`` picks this pod."""
    wanted = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = pod.get("metadata", {}).get("labels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def claim_names(pod: Mapping[str, Any]) -> list[str]:
    """The PersistentVolumeClaims a pod mounts."""
    return [
        v["persistentVolumeClaim"]["claimName"]
        for v in (pod.get("spec") or {}).get("volumes") or []
        if (v.get("persistentVolumeClaim") or {}).get("claimName")
    ]


def claim_finding(
    claim: Mapping[str, Any],
    storage_classes: Mapping[str, Mapping[str, Any] | None],
    field: str,
) -> str | None:
    """Why a Pending claim gets no volume, and what to do; None when it is not stuck.

    ``storage_classes`` holds the classes that were looked up: ``None`` for one that does not
    exist; a class that is not in it is unknown (not readable) and judged by the claim alone.
    """
    if (claim.get("status") or {}).get("phase") != "Pending":
        return None
    name = claim["metadata"]["name"]
    cls = (claim.get("spec") or {}).get("storageClassName")
    where = f"{field}.storage.storageClassName"
    if cls is None:
        # Kubernetes gives a claim without a class the default class, even afterwards
        # (retroactive default StorageClass assignment): one still without a class found none.
        return (
            f"PersistentVolumeClaim {name} is Pending: it names no StorageClass and the cluster "
            f"has no default one; set {where} to an existing class (kubectl get storageclass), "
            "or mark one as the default"
        )
    if cls == "":
        return (
            f'PersistentVolumeClaim {name} is Pending: it asks for no StorageClass (""), so only '
            "a PersistentVolume created by hand can bind it; create one, or name a class in "
            f"{where}"
        )
    if cls in storage_classes and storage_classes[cls] is None:
        return (
            f'PersistentVolumeClaim {name} is Pending: StorageClass "{cls}" does not exist; create '
            f"it, or name an existing class in {where} (kubectl get storageclass) and delete "
            f"PersistentVolumeClaim {name} (it is Pending, so it holds no data)"
        )
    sc = storage_classes.get(cls)
    if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
        return None  # bound once its pod is scheduled: the pod's own finding says why not
    provisioner = f' of provisioner "{sc["provisioner"]}"' if sc and sc.get("provisioner") else ""
    return (
        f'PersistentVolumeClaim {name} is Pending: StorageClass "{cls}"{provisioner} has not '
        "provided a volume; check that its provisioner runs (kubectl describe pvc "
        f"{name})"
    )


def _container_findings(
    pod: Mapping[str, Any], field: str, redact: Callable[[str], str]
) -> Iterable[tuple[str, str]]:
    """(reason, message) for each container the kubelet cannot start or keep running."""
    status = pod.get("status") or {}
    name = pod["metadata"]["name"]
    namespace = pod["metadata"].get("namespace", "")
    statuses = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = WAITING_REASONS.get(waiting.get("reason", ""))
        if reason is None:
            continue
        container, kubelet = cs.get("name", "?"), waiting["reason"]
        said = scrub(waiting.get("message") or "", redact)
        said = f"{kubelet}: {said}" if said else kubelet
        if reason == IMAGE_PULL_FAILED:
            yield (
                reason,
                f'container {container} cannot pull image "{cs.get("image", "?")}" ({said}); '
                f"check the image name and tag ({field}.image, spec.version) and that the "
                "cluster may pull from its registry (pull secret)",
            )
        elif reason == CONTAINER_CONFIG_ERROR:
            yield (
                reason,
                f"container {container} cannot be configured ({said}); create the missing "
                "Secret, ConfigMap or key, or fix the reference "
                f"({field}.extraEnv, spec.secrets)",
            )
        elif reason == CONTAINER_START_FAILED:
            yield reason, f"container {container} cannot start ({said})"
        else:
            # The kubelet's back-off message says nothing useful; the last termination does.
            # Its `message` (the log tail with FallbackToLogsOnError) may quote secrets: unused.
            last = (cs.get("lastState") or {}).get("terminated") or {}
            exit_reason, code = last.get("reason") or "unknown", last.get("exitCode")
            restarts = int(cs.get("restartCount") or 0)
            hint = (
                f"; raise {field}.resources.limits.memory"
                if exit_reason == "OOMKilled"
                else f"; see kubectl logs -n {namespace} {name} -c {container} --previous"
            )
            exit_text = f"{exit_reason}, exit code {code}" if code is not None else exit_reason
            yield (
                reason,
                f"container {container} keeps crashing (restarted {restarts} times; "
                f"last exit: {exit_text}){hint}",
            )


def pod_findings(
    pod: Mapping[str, Any],
    claims: Mapping[str, Mapping[str, Any]],
    storage_classes: Mapping[str, Mapping[str, Any] | None],
    field: str,
    redact: Callable[[str], str] = lambda s: s,
) -> list[Finding]:
    """Everything that keeps one pod from running, each with when it began."""
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in (
        "Succeeded",
        "Failed",
    ):
        return []  # going away, or done: its replacement is the one to judge
    name = meta["name"]
    out: list[Finding] = []
    for claim_name in claim_names(pod):
        claim = claims.get(claim_name)
        text = claim_finding(claim, storage_classes, field) if claim else None
        if text and claim is not None:
            since = parse_time(claim["metadata"].get("creationTimestamp"))
            out.append(Finding(VOLUME_NOT_BOUND, name, text, since))
    scheduled = _condition(pod, "PodScheduled")
    if scheduled.get("status") == "False" and scheduled.get("reason") == UNSCHEDULABLE and not out:
        said = scrub(scheduled.get("message") or "no node fits", redact)
        out.append(
            Finding(
                UNSCHEDULABLE,
                name,
                f"cannot be scheduled: {said}; check {field}.nodeSelector, tolerations and "
                "affinity against the cluster's nodes and their free resources",
                parse_time(scheduled.get("lastTransitionTime")) or unready_since(pod),
            )
        )
    since = unready_since(pod)
    out += [Finding(r, name, m, since) for r, m in _container_findings(pod, field, redact)]
    return out


def _deadline_exceeded(workload: Mapping[str, Any]) -> bool:
    progressing = _condition(workload, "Progressing")
    return progressing.get("reason") == "ProgressDeadlineExceeded"


def diagnose(
    workload: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    claims: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    field: str,
    storage_classes: Mapping[str, Mapping[str, Any] | None] | None = None,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    redact: Callable[[str], str] = lambda s: s,
) -> Diagnosis | None:
    """Why a Deployment's or StatefulSet's pods do not become ready; None when nothing says.

    ``field`` is the spec path of the component (``spec.backend``), named in the advice. The
    workload is stalled (``failed``) once a Deployment reports ``ProgressDeadlineExceeded`` or
    the problem is older than ``deadline_seconds`` (a StatefulSet has no progress deadline of its
    own, and a Deployment whose rollout had finished gets none either: a pod that dies later is
    replaced without one). Before that, the reason and message are the same, ``failed`` False.
    """
    by_name = {c["metadata"]["name"]: c for c in claims}
    classes = storage_classes or {}
    findings = [
        finding
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"])
        if selects(workload, pod)
        for finding in pod_findings(pod, by_name, classes, field, redact)
    ]
    if not findings:
        return None
    rank = {reason: index for index, reason in enumerate(PRIORITY)}
    findings.sort(key=lambda f: rank[f.reason])
    first = findings[0]
    alike = sorted({f.pod for f in findings if f.reason == first.reason} - {first.pod})
    kind, name = workload.get("kind", "Workload"), workload["metadata"]["name"]
    want = int((workload.get("spec") or {}).get("replicas", 1))
    ready = int((workload.get("status") or {}).get("readyReplicas") or 0)
    subject = "" if first.reason == VOLUME_NOT_BOUND else f"pod {first.pod}: "
    more = f" (and {len(alike)} more pod{'s' if len(alike) > 1 else ''})" if alike else ""
    message = f"{kind} {name}: {ready}/{want} ready; {subject}{first.message}{more}"
    age = (now - first.since).total_seconds() if first.since else 0.0
    if kind == "Deployment" and _deadline_exceeded(workload):
        message += "; no progress within the Deployment's deadline (ProgressDeadlineExceeded)"
        return Diagnosis(first.reason, message, True)
    if first.since is not None and age >= deadline_seconds:
        # The deadline, not the age: a message that changes every reconcile would rewrite the
        # status each time.
        message += f"; stuck for more than {duration(deadline_seconds)}"
        return Diagnosis(first.reason, message, True)
    remaining = deadline_seconds - age if first.since is not None else None
    return Diagnosis(first.reason, message, False, remaining)
