"""Stuck pods say why on the CR: Reconciling with the reason first, Stalled after the deadline.

What is real and what is simulated here:

- Unschedulable is real: kube-scheduler finds no node for a ``nodeSelector`` no node has and
  writes ``PodScheduled=False`` with its own message, which the status quotes.
- A Pending volume is real: the claim names a StorageClass that does not exist, kube-controller-
  manager's PV controller leaves it Pending, the scheduler refuses its pod; creating the class
  (served by the harness provisioner) then binds it, and the CR recovers.
- ProgressDeadlineExceeded is real: kube-controller-manager's Deployment controller sets it
  once a rollout makes no progress for ``progressDeadlineSeconds`` (shortened here on the live
  Deployment, a field the operator leaves to Kubernetes).
- The kubelet is simulated: kwok plays it, and the harness Stage ``harness-container-waiting``
  (``tests/harness/kwok-stages.yaml``) reports the container states a kubelet would for pods
  annotated ``harness.litemaas.io/simulate-waiting`` (set through
  ``spec.<component>.podAnnotations``): ``ImagePullBackOff`` with the image, ``CrashLoopBackOff``
  with a last exit code, ``CreateContainerConfigError`` naming the container's Secret key. No
  image is pulled and nothing crashes; the operator reads the same pod status either way.

The operator runs with ``PROGRESS_DEADLINE_SECONDS`` of 40 s (10 min in production) so that a
stuck component goes Stalled within the test.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from harness.control_plane import PROVISIONER
from harness.waiting import wait_until
from support import audit
from support.crs import CRs, sample
from support.install import new_namespace
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

DEADLINE_SECONDS = 40
SIMULATE = "harness.litemaas.io/simulate-waiting"
NOWHERE = {"litemaas.io/test": "no-such-node"}  # a label no node has
SCHEDULER_SAYS = (
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector"  # verbatim
)


@pytest.fixture(autouse=True)
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator (started after this, by the ``operator`` fixture) stalls after 40 s."""
    monkeypatch.setenv("PROGRESS_DEADLINE_SECONDS", str(DEADLINE_SECONDS))


@pytest.fixture(scope="session")
def cluster(kubernetes_cluster: Any) -> Any:
    """One flavour: pods, claims and the scheduler behave the same in both."""
    return kubernetes_cluster


def base_cr(crs: CRs) -> dict[str, Any]:
    """The plain-Kubernetes sample, with the OIDC Secret it names."""
    crs.create_secret("litemaas-oidc", {"client-secret": "oidc-client-secret-value-1234"})
    return sample("litemaas-kubernetes")


def conditions(crs: CRs) -> dict[str, dict[str, Any]]:
    cr = crs.get() or {}
    gen = cr.get("metadata", {}).get("generation")
    return {
        c["type"]: c
        for c in (cr.get("status") or {}).get("conditions") or []
        if c.get("observedGeneration") == gen
    }


def wait_reasons(crs: CRs, wanted: dict[str, tuple[str, str]], timeout: float) -> dict:
    """Wait until each condition type has (status, reason); returns all conditions."""

    def probe() -> dict | None:
        conds = conditions(crs)
        ok = all(
            (conds.get(t, {}).get("status"), conds.get(t, {}).get("reason")) == sr
            for t, sr in wanted.items()
        )
        return conds if ok else None

    try:
        return wait_until(probe, timeout, interval=1, what=f"conditions {wanted}")
    except TimeoutError as err:
        seen = {t: (c["status"], c["reason"], c["message"]) for t, c in conditions(crs).items()}
        raise TimeoutError(f"{err}; saw {seen}") from None


def test_deployments_say_why_their_pods_are_stuck_then_stall(crs: CRs, operator) -> None:
    body = base_cr(crs)
    spec = body["spec"]
    spec["redis"] = {"podAnnotations": {SIMULATE: "CreateContainerConfigError"}}
    spec["litellm"] = {"podAnnotations": {SIMULATE: "CrashLoopBackOff"}}
    spec["backend"] = {
        "image": "quay.io/example/no-such-backend:0.0.0",
        "podAnnotations": {SIMULATE: "ImagePullBackOff"},
    }
    spec["frontend"] = {"nodeSelector": NOWHERE}
    crs.create(body)

    # Before any deadline: Reconciling, each component with its own reason.
    conds = wait_reasons(
        crs,
        {
            "Reconciling": ("True", "Progressing"),
            "RedisReady": ("False", "ContainerConfigError"),
            "LiteLLMReady": ("False", "CrashLooping"),
            "BackendReady": ("False", "ImagePullFailed"),
        },
        timeout=30,
    )
    ns = crs.namespace
    assert conds["Stalled"]["status"] == "False"
    redis = conds["RedisReady"]["message"]
    assert redis.startswith("Deployment litemaas-redis: 0/1 ready; pod litemaas-redis-")
    assert (
        "container redis cannot be configured (CreateContainerConfigError: couldn't find key "
        f"password in Secret {ns}/litemaas-redis); create the missing Secret, ConfigMap or key"
    ) in redis
    litellm = conds["LiteLLMReady"]["message"]
    assert (
        "container litellm keeps crashing (restarted 5 times; last exit: Error, exit code 1); "
        f"see kubectl logs -n {ns} litemaas-litellm-"
    ) in litellm
    backend = conds["BackendReady"]["message"]
    assert (
        'container backend cannot pull image "quay.io/example/no-such-backend:0.0.0" '
        '(ImagePullBackOff: Back-off pulling image "quay.io/example/no-such-backend:0.0.0"'
    ) in backend
    assert "check the image name and tag (spec.backend.image, spec.version)" in backend
    # The frontend waits for the backend, and already says what the scheduler says.
    frontend = conds["FrontendReady"]
    assert frontend["reason"] == "WaitingForBackend"
    assert f"cannot be scheduled: {SCHEDULER_SAYS}" in frontend["message"]
    assert "check spec.frontend.nodeSelector" in frontend["message"]
    assert "cannot pull image" in conds["Ready"]["message"]

    # Kubernetes' own deadline (real, from the Deployment controller) stalls the backend first.
    crs.apps.patch_namespaced_deployment(
        "litemaas-backend", ns, {"spec": {"progressDeadlineSeconds": 5}}
    )
    exceeded = "; no progress within the Deployment's deadline (ProgressDeadlineExceeded)"

    def backend_stalled() -> dict | None:
        conds = conditions(crs)
        backend = conds.get("BackendReady", {})
        return conds if backend.get("message", "").endswith(exceeded) else None

    conds = wait_until(backend_stalled, 30, interval=1, what="BackendReady past its deadline")
    assert conds["BackendReady"]["reason"] == "ImagePullFailed"
    assert conds["Stalled"]["status"] == "True"
    assert conds["Reconciling"]["status"] == "False"
    assert "Backend: Deployment litemaas-backend: 0/1 ready; pod" in conds["Stalled"]["message"]

    # The operator's deadline (the pods' age) stalls the rest.
    conds = wait_reasons(
        crs,
        {
            "Stalled": ("True", "ContainerConfigError"),  # the first stuck component's reason
            "RedisReady": ("False", "ContainerConfigError"),
            "LiteLLMReady": ("False", "CrashLooping"),
            "FrontendReady": ("False", "Unschedulable"),
        },
        timeout=DEADLINE_SECONDS + 20,
    )
    assert crs.get()["status"]["phase"] == "Stalled"
    for ctype in ("RedisReady", "LiteLLMReady", "FrontendReady"):
        assert conds[ctype]["message"].endswith(f"; stuck for more than {DEADLINE_SECONDS}s")
    stalled = conds["Stalled"]["message"]
    for component in ("Redis: ", "LiteLLM: ", "Backend: ", "Frontend: "):
        assert component in stalled


def test_a_volume_that_never_binds_and_an_unschedulable_pod(cluster, crs: CRs, operator) -> None:
    storage_class = f"missing-{secrets.token_hex(3)}"
    body = base_cr(crs)
    body["spec"]["database"] = {"storage": {"storageClassName": storage_class}}
    body["spec"]["redis"] = {"nodeSelector": NOWHERE}
    crs.create(body)

    claim = "data-litemaas-postgres-0"
    conds = wait_reasons(
        crs,
        {
            "Reconciling": ("True", "Progressing"),
            "DatabaseReady": ("False", "VolumeNotBound"),
            "RedisReady": ("False", "Unschedulable"),
        },
        timeout=30,
    )
    assert conds["DatabaseReady"]["message"] == (
        f"StatefulSet litemaas-postgres: 0/1 ready; PersistentVolumeClaim {claim} is Pending: "
        f'StorageClass "{storage_class}" does not exist; create it, or name an existing class in '
        "spec.database.storage.storageClassName (kubectl get storageclass) and delete "
        f"PersistentVolumeClaim {claim} (it is Pending, so it holds no data)"
    )
    redis = conds["RedisReady"]["message"]
    assert redis.startswith("Deployment litemaas-redis: 0/1 ready; pod litemaas-redis-")
    assert f"cannot be scheduled: {SCHEDULER_SAYS}" in redis
    assert conds["Ready"]["reason"] == "VolumeNotBound"

    # A StatefulSet has no progress deadline: the operator's, from the claim's age.
    conds = wait_reasons(
        crs,
        {
            "Stalled": ("True", "VolumeNotBound"),
            "DatabaseReady": ("False", "VolumeNotBound"),
            "RedisReady": ("False", "Unschedulable"),
        },
        timeout=DEADLINE_SECONDS + 20,
    )
    assert conds["DatabaseReady"]["message"].endswith(f"; stuck for more than {DEADLINE_SECONDS}s")
    assert crs.get()["status"]["phase"] == "Stalled"

    # Doing what the messages say clears it: create the class, drop the node selector.
    with cluster.api_client() as api:
        storage = client.StorageV1Api(api)
        storage.create_storage_class(
            client.V1StorageClass(
                metadata=client.V1ObjectMeta(name=storage_class),
                provisioner=PROVISIONER,
                reclaim_policy="Delete",
                volume_binding_mode="Immediate",
            )
        )
        try:
            crs.patch_spec("litemaas", {"redis": {"nodeSelector": None}})
            crs.wait_ready(timeout=90)
        finally:
            storage.delete_storage_class(storage_class)


def test_secret_values_in_a_kubelet_message_never_reach_the_status(crs: CRs, operator) -> None:
    """A runtime error that quotes a container's environment (simulated: kwok reports the
    message given in ``harness.litemaas.io/simulate-message``) is shown without the values."""
    password = f"redis-{secrets.token_hex(16)}"
    crs.create_secret("stuck-byo", {"redis-password": password})
    body = base_cr(crs)
    body["spec"]["secrets"] = {"redisPassword": {"name": "stuck-byo", "key": "redis-password"}}
    said = f"failed to create container: env REDIS_PASSWORD={password} refused ({password})"
    body["spec"]["redis"] = {
        "podAnnotations": {
            SIMULATE: "CreateContainerError",
            "harness.litemaas.io/simulate-message": said,
        }
    }
    crs.create(body)

    conds = wait_reasons(crs, {"RedisReady": ("False", "ContainerStartFailed")}, timeout=30)
    assert (
        "container redis cannot start (CreateContainerError: failed to create container: env "
        "REDIS_PASSWORD=[REDACTED] refused ([REDACTED]))"
    ) in conds["RedisReady"]["message"]
    assert password not in str(crs.get()["status"])


def test_the_kwok_stage_fails_only_annotated_pods(crs: CRs) -> None:
    """The harness's own promise: un-annotated pods still become Ready as before."""
    for name, notes in (("plain", {}), ("pulling", {SIMULATE: "ImagePullBackOff"})):
        crs.core.create_namespaced_pod(
            crs.namespace,
            client.V1Pod(
                metadata=client.V1ObjectMeta(name=name, annotations=notes),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image="example.com/app:1")]
                ),
            ),
        )

    def settled() -> dict | None:
        pods = {p.metadata.name: p for p in crs.core.list_namespaced_pod(crs.namespace).items}
        plain, pulling = pods["plain"].status, pods["pulling"].status
        if plain.phase != "Running" or not pulling.container_statuses:
            return None
        return {"plain": plain, "pulling": pulling}

    pods = wait_until(settled, 30, interval=0.5, what="both pods judged by kwok")
    assert pods["plain"].container_statuses[0].ready
    waiting = pods["pulling"].container_statuses[0].state.waiting
    assert pods["pulling"].phase == "Pending"
    assert waiting.reason == "ImagePullBackOff"
    assert 'Back-off pulling image "example.com/app:1"' in waiting.message
    version = crs.core.read_namespaced_pod("pulling", crs.namespace).metadata.resource_version
    time.sleep(3)  # kwok re-applies its stage as a no-op: the pod does not flap
    assert (
        crs.core.read_namespaced_pod("pulling", crs.namespace).metadata.resource_version == version
    )


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[audit.AuditedCluster]:
    """A cluster of its own whose API server logs the operator's requests."""
    with audit.started(tmp_path_factory.mktemp("audited")) as audited:
        yield audited


def test_pods_are_listed_only_while_a_component_is_not_ready(
    audited: audit.AuditedCluster,
) -> None:
    cluster = audited.cluster
    namespace = new_namespace(cluster, "stuck-audit")
    crs = CRs(cluster, namespace)
    # A resync every 2 s: an idle instance is reconciled often, and must not list pods then.
    operator = OperatorProcess(audited.operator_kubeconfig, [namespace], resync_seconds=2).start()
    try:
        crs.create(sample("litemaas-cr"))
        crs.wait_ready(timeout=120)
        time.sleep(2)  # the reconcile that saw Ready ends
        mark = len(audited.requests())
        reconciled = _reconciles(operator)
        time.sleep(10)  # about five resyncs of a Ready instance
        idle = audited.requests()[mark:]
        # The resyncs ran (children come from the watches' caches, so no request shows
        # them), and none listed pods.
        assert _reconciles(operator) >= reconciled + 3
        assert not [r for r in idle if r.resource == "pods"], "a Ready instance listed pods"

        crs.patch_spec("litemaas", {"backend": {"podAnnotations": {SIMULATE: "ErrImagePull"}}})
        wait_reasons(crs, {"BackendReady": ("False", "ImagePullFailed")}, timeout=30)
        pods = [r for r in audited.requests()[mark:] if r.resource == "pods"]
        assert pods and {(r.verb, r.namespace) for r in pods} == {("list", namespace)}
        assert {r.label_selector for r in pods} == {
            "app.kubernetes.io/instance=litemaas,app.kubernetes.io/managed-by=litemaas-operator"
        }
    finally:
        crs.delete()
        crs.wait_gone(timeout=60)
        operator.stop()


def _reconciles(operator: OperatorProcess) -> float:
    """litemaas_operator_reconciles_total, every result."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in operator.metrics().splitlines()
        if line.startswith("litemaas_operator_reconciles_total")
    )
