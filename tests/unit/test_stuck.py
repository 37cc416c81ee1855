"""Why pods are stuck: pods, claims and their workload -> (reason, message, failed).

The pod and claim statuses below are shaped as the kubelet, the scheduler and the PV controller
write them (the scheduler and PV-controller messages are copied from a real kube-scheduler and
kube-controller-manager 1.36 on the test harness).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litemaas_operator.controller.conditions import (
    ComponentState,
    Observation,
    compute_status,
)
from litemaas_operator.controller.stuck import diagnose, duration, scrub
from litemaas_operator.controller.stuck_pods import settling

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
LABELS = {"app.kubernetes.io/instance": "litemaas", "app.kubernetes.io/component": "backend"}
IMAGE = "quay.io/rh-aiservices-bu/litemaas-backend:9.9.9"


def stamp(ago: float) -> str:
    return (NOW - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(**status: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "litemaas-backend"},
        "spec": {"replicas": 1, "selector": {"matchLabels": LABELS}},
        "status": status,
    }


def statefulset() -> dict[str, Any]:
    labels = {"app.kubernetes.io/instance": "litemaas", "app.kubernetes.io/component": "database"}
    return {
        "kind": "StatefulSet",
        "metadata": {"name": "litemaas-postgres"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}},
        "status": {},
    }


def pod(
    name: str = "litemaas-backend-7d9f-x2k",
    *,
    ago: float = 30,
    labels: dict[str, str] | None = None,
    waiting: tuple[str, str] | None = None,
    last: dict[str, Any] | None = None,
    unschedulable: str | None = None,
    claim: str | None = None,
    **meta: Any,
) -> dict[str, Any]:
    """A pod as the API server returns it, created ``ago`` seconds before NOW."""
    conditions = []
    statuses = []
    if unschedulable is not None:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": unschedulable,
                "lastTransitionTime": stamp(ago),
            }
        )
    else:
        conditions += [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp(ago)},
            {
                "type": "Ready",
                "status": "False",
                "reason": "ContainersNotReady",
                "lastTransitionTime": stamp(ago),
            },
        ]
    if waiting is not None:
        statuses.append(
            {
                "name": "backend",
                "image": IMAGE,
                "ready": False,
                "restartCount": 5 if last else 0,
                "state": {"waiting": {"reason": waiting[0], "message": waiting[1]}},
                "lastState": {"terminated": last} if last else {},
            }
        )
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}] if claim else []
    return {
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "labels": labels or LABELS,
            "creationTimestamp": stamp(ago),
            **meta,
        },
        "spec": {"volumes": volumes},
        "status": {"phase": "Pending", "conditions": conditions, "containerStatuses": statuses},
    }


def claim(name: str, storage_class: str | None, phase: str = "Pending") -> dict[str, Any]:
    spec = {} if storage_class is None else {"storageClassName": storage_class}
    return {
        "metadata": {"name": name, "creationTimestamp": stamp(40)},
        "spec": spec,
        "status": {"phase": phase},
    }


def judge(workload: dict, pods: list, claims: list = (), **kw: Any):
    kw.setdefault("field", "spec.backend")
    return diagnose(workload, pods, list(claims), now=NOW, **kw)


PULL = f'Back-off pulling image "{IMAGE}": ErrImagePull: not found'


def test_image_pull_backoff_names_the_image_and_the_kubelets_message():
    found = judge(deployment(), [pod(waiting=("ImagePullBackOff", PULL))])
    assert found is not None
    assert found.reason == "ImagePullFailed"
    assert not found.failed  # before the deadline: Reconciling, but saying why
    assert found.message == (
        "Deployment litemaas-backend: 0/1 ready; pod litemaas-backend-7d9f-x2k: container "
        f'backend cannot pull image "{IMAGE}" (ImagePullBackOff: {PULL}); check the image name '
        "and tag (spec.backend.image, spec.version) and that the cluster may pull from its "
        "registry (pull secret)"
    )
    assert found.check_again_in == 570  # 600 s deadline, pod 30 s old


def test_err_image_pull_is_the_same_reason():
    found = judge(deployment(), [pod(waiting=("ErrImagePull", "rpc error: not found"))])
    assert found is not None and found.reason == "ImagePullFailed"
    assert "(ErrImagePull: rpc error: not found)" in found.message


SCHEDULER = (
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. no new "
    "claims to deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful "
    "for scheduling."
)


def test_unschedulable_quotes_the_scheduler():
    found = judge(deployment(), [pod(unschedulable=SCHEDULER)])
    assert found is not None
    assert found.reason == "Unschedulable"
    assert found.message == (
        "Deployment litemaas-backend: 0/1 ready; pod litemaas-backend-7d9f-x2k: cannot be "
        f"scheduled: {SCHEDULER[:-1]}; check spec.backend.nodeSelector, tolerations and affinity "
        "against the cluster's nodes and their free resources"
    )


DB_LABELS = {"app.kubernetes.io/instance": "litemaas", "app.kubernetes.io/component": "database"}
UNBOUND = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found"


def db_pod(**kw: Any) -> dict[str, Any]:
    return pod("litemaas-postgres-0", labels=DB_LABELS, claim="data-litemaas-postgres-0", **kw)


def test_missing_storage_class_names_the_claim_the_class_and_the_fix():
    found = judge(
        statefulset(),
        [db_pod(unschedulable=UNBOUND)],
        [claim("data-litemaas-postgres-0", "missing")],
        storage_classes={"missing": None},
        field="spec.database",
    )
    assert found is not None
    # The claim is the cause; the pod's Unschedulable is only its consequence.
    assert found.reason == "VolumeNotBound"
    assert found.message == (
        "StatefulSet litemaas-postgres: 0/1 ready; PersistentVolumeClaim "
        'data-litemaas-postgres-0 is Pending: StorageClass "missing" does not exist; create it, '
        "or name an existing class in spec.database.storage.storageClassName (kubectl get "
        "storageclass) and delete PersistentVolumeClaim data-litemaas-postgres-0 (it is "
        "Pending, so it holds no data)"
    )


def test_no_default_storage_class_says_so():
    found = judge(
        statefulset(),
        [db_pod(unschedulable=UNBOUND)],
        [claim("data-litemaas-postgres-0", None)],
        field="spec.database",
    )
    assert found is not None and found.reason == "VolumeNotBound"
    assert "names no StorageClass and the cluster has no default one" in found.message
    assert "set spec.database.storage.storageClassName" in found.message


def test_an_immediate_class_that_provides_nothing_points_at_its_provisioner():
    sc = {"provisioner": "ebs.csi.aws.com", "volumeBindingMode": "Immediate"}
    found = judge(
        statefulset(),
        [db_pod(unschedulable=UNBOUND)],
        [claim("data-litemaas-postgres-0", "gp3")],
        storage_classes={"gp3": sc},
        field="spec.database",
    )
    assert found is not None and found.reason == "VolumeNotBound"
    assert 'StorageClass "gp3" of provisioner "ebs.csi.aws.com" has not provided' in found.message


def test_a_wait_for_first_consumer_claim_waits_for_its_pod():
    sc = {"provisioner": "x", "volumeBindingMode": "WaitForFirstConsumer"}
    found = judge(
        statefulset(),
        [db_pod(unschedulable=SCHEDULER)],
        [claim("data-litemaas-postgres-0", "local")],
        storage_classes={"local": sc},
        field="spec.database",
    )
    assert found is not None and found.reason == "Unschedulable"


def test_a_bound_claim_is_no_finding():
    found = judge(
        statefulset(),
        [db_pod(waiting=("ImagePullBackOff", PULL))],
        [claim("data-litemaas-postgres-0", "standard", phase="Bound")],
        field="spec.database",
    )
    assert found is not None and found.reason == "ImagePullFailed"


def test_crash_loop_gives_the_last_termination_not_the_log_tail():
    last = {"reason": "Error", "exitCode": 1, "message": "DATABASE_URL=postgres://u:hunter2@db"}
    found = judge(deployment(), [pod(waiting=("CrashLoopBackOff", "back-off 40s"), last=last)])
    assert found is not None
    assert found.reason == "CrashLooping"
    assert found.message == (
        "Deployment litemaas-backend: 0/1 ready; pod litemaas-backend-7d9f-x2k: container "
        "backend keeps crashing (restarted 5 times; last exit: Error, exit code 1); see kubectl "
        "logs -n team-a litemaas-backend-7d9f-x2k -c backend --previous"
    )
    assert "hunter2" not in found.message


def test_oom_killed_says_to_raise_the_memory_limit():
    last = {"reason": "OOMKilled", "exitCode": 137}
    found = judge(deployment(), [pod(waiting=("CrashLoopBackOff", ""), last=last)])
    assert found is not None
    assert "last exit: OOMKilled, exit code 137); raise spec.backend.resources.limits.memory" in (
        found.message
    )


def test_missing_secret_key_is_a_config_error():
    said = "couldn't find key password in Secret team-a/my-db"
    found = judge(deployment(), [pod(waiting=("CreateContainerConfigError", said))])
    assert found is not None
    assert found.reason == "ContainerConfigError"
    assert found.message == (
        "Deployment litemaas-backend: 0/1 ready; pod litemaas-backend-7d9f-x2k: container "
        f"backend cannot be configured (CreateContainerConfigError: {said}); create the missing "
        "Secret, ConfigMap or key, or fix the reference (spec.backend.extraEnv, spec.secrets)"
    )


def test_secret_values_never_reach_the_message():
    said = 'failed to start: env LITELLM_MASTER_KEY=sk-abcdef1234567890 DB="p w" and s3cr3t-value'
    found = judge(
        deployment(),
        [pod(waiting=("RunContainerError", said))],
        redact=lambda text: text.replace("s3cr3t-value", "[REDACTED]"),
    )
    assert found is not None and found.reason == "ContainerStartFailed"
    for secret in ("sk-abcdef1234567890", "p w", "s3cr3t-value"):
        assert secret not in found.message
    assert "LITELLM_MASTER_KEY=[REDACTED]" in found.message


def test_scrub_keeps_ordinary_text():
    text = "back-off 40s restarting failed container=backend pod=x_ns(uid)"
    assert scrub(text) == text


def test_a_statefulset_stuck_past_the_deadline_is_failed():
    young = judge(statefulset(), [db_pod(waiting=("ImagePullBackOff", PULL), ago=599)])
    old = judge(statefulset(), [db_pod(waiting=("ImagePullBackOff", PULL), ago=600)])
    assert young is not None and old is not None
    assert (young.reason, young.failed, young.check_again_in) == ("ImagePullFailed", False, 1)
    assert (old.reason, old.failed) == ("ImagePullFailed", True)
    assert old.message == young.message + "; stuck for more than 10m"


def test_the_deadline_is_configurable():
    found = judge(
        statefulset(), [db_pod(waiting=("ImagePullBackOff", PULL), ago=30)], deadline_seconds=20
    )
    assert found is not None and found.failed
    assert found.message.endswith("; stuck for more than 20s")


def test_a_deployment_past_its_progress_deadline_is_failed_at_once():
    progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    found = judge(
        deployment(conditions=[progressing]), [pod(waiting=("ImagePullBackOff", PULL), ago=5)]
    )
    assert found is not None
    assert (found.reason, found.failed) == ("ImagePullFailed", True)
    assert found.message.endswith(
        "; no progress within the Deployment's deadline (ProgressDeadlineExceeded)"
    )


def test_the_message_does_not_change_while_waiting():
    # A message that changed each reconcile would rewrite the status each time.
    pods = [pod(waiting=("ImagePullBackOff", PULL))]
    first = diagnose(deployment(), pods, [], now=NOW, field="spec.backend")
    later = diagnose(deployment(), pods, [], now=NOW + timedelta(seconds=200), field="spec.backend")
    assert first is not None and later is not None
    assert first.message == later.message


def test_healthy_terminating_and_foreign_pods_say_nothing():
    healthy = pod()
    healthy["status"]["conditions"][1]["status"] = "True"
    foreign = pod("other", labels={"app.kubernetes.io/instance": "x"}, unschedulable=SCHEDULER)
    going = pod(
        "going", waiting=("ImagePullBackOff", PULL), deletionTimestamp="2026-01-01T12:00:00Z"
    )
    assert judge(deployment(), [healthy, foreign, going]) is None


def test_more_pods_alike_are_counted_not_repeated():
    pods = [pod(f"litemaas-backend-7d9f-{i}", waiting=("ImagePullBackOff", PULL)) for i in range(3)]
    found = judge(deployment(), pods)
    assert found is not None
    assert "pod litemaas-backend-7d9f-0:" in found.message
    assert found.message.endswith("(and 2 more pods)")


def test_the_most_fundamental_reason_wins():
    pods = [
        pod("a", waiting=("CrashLoopBackOff", ""), last={"reason": "Error", "exitCode": 1}),
        pod("b", unschedulable=SCHEDULER),
    ]
    found = judge(deployment(), pods)
    assert found is not None and found.reason == "Unschedulable"


def test_a_stalled_component_makes_the_cr_stalled_with_its_reason():
    found = judge(statefulset(), [db_pod(waiting=("ImagePullBackOff", PULL), ago=900)])
    assert found is not None
    ready = ComponentState(True, "Ready", "ok", 1, 1)
    states = {k: ready for k in ("redis", "litellm", "backend", "frontend", "auth")}
    states["database"] = ComponentState(False, found.reason, found.message, 1, 0, found.failed)
    status = compute_status(Observation(1, "0.5.0", None, states, None), None)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert status["phase"] == "Stalled"
    assert conditions["Stalled"]["reason"] == "ImagePullFailed"
    assert conditions["DatabaseReady"]["reason"] == "ImagePullFailed"
    assert conditions["Reconciling"]["status"] == "False"


def test_settling_while_pods_are_young_or_missing():
    assert settling(deployment(), [], NOW, 600)
    assert settling(deployment(), [pod(ago=30)], NOW, 600)
    assert not settling(deployment(), [pod(ago=601)], NOW, 600)


def test_duration_reads_like_kubectl():
    assert [duration(s) for s in (20, 60, 90, 600, 3600, 5400)] == [
        "20s",
        "1m",
        "1m30s",
        "10m",
        "1h",
        "1h30m",
    ]
