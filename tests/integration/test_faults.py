"""Faults on purpose: the operator killed, the API server restarted, children deleted or
edited by others, CRs deleted mid-creation, and a stream of malformed CRs.

Each test drives the real operator process (tests/support/operator.py) against a harness
cluster of the openshift flavour (the one with the most moving parts: Routes, an OAuthClient,
shared Groups) and asserts what a user would check afterwards.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from harness.waiting import wait_until
from support.crs import GROUP, PLURAL, VERSION, CRs, client_name, sample
from support.faults import cluster_leftovers, liveness, namespaced_children, uid
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration]
on_openshift = pytest.mark.parametrize("cluster", ["openshift"], indirect=True)

RESTORE_SECONDS = 15  # README promises drift is restored within 10 s; some slack for CI


def openshift_sample() -> dict[str, Any]:
    """The OpenShift sample CR, with the most moving parts: a cluster-scoped OAuthClient."""
    body = sample("litemaas-cr")
    body["spec"]["auth"]["mode"] = "oauthclient"
    return body


def applies_total(op: OperatorProcess) -> float:
    """litemaas_operator_applies_total over all kinds."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in op.metrics().splitlines()
        if line.startswith("litemaas_operator_applies_total{")
    )


def metric(op: OperatorProcess, name: str) -> float:
    """One unlabelled metric of the operator."""
    for line in op.metrics().splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def assert_credentials_consistent(crs: CRs, creds: dict[str, str]) -> None:
    """Every place a generated credential is copied to holds the stored value."""
    assert crs.secret("litemaas-postgres")["password"] == creds["postgres-password"]
    assert crs.secret("litemaas-redis")["password"] == creds["redis-password"]
    litellm = crs.secret("litemaas-litellm")
    assert litellm["master-key"] == creds["litellm-master-key"]
    password = urllib.parse.quote(creds["postgres-password"], safe="")
    assert f":{password}@" in litellm["database-url"]
    backend = crs.secret("litemaas-backend")
    assert backend["jwt-secret"] == creds["jwt-secret"]
    assert backend["admin-api-keys"] == creds["admin-api-keys"]
    oauth = crs.custom.get_cluster_custom_object(
        "oauth.openshift.io", "v1", "oauthclients", client_name(crs.namespace)
    )
    assert oauth["secret"] == creds["oauth-client-secret"]


@on_openshift
@pytest.mark.timeout(240)
def test_sigkill_mid_reconcile_converges_with_no_credential_changed(
    crs: CRs, operator: OperatorProcess
):
    crs.create(openshift_sample())
    # The credentials Secret is the first write of the first reconcile: kill right after it,
    # while the other children are being applied.
    creds = wait_until(lambda: crs.secret("litemaas-credentials"), 30, 0.02, "credentials")
    operator.kill()
    partial = namespaced_children(crs)
    ready = crs.condition("litemaas", "Ready")
    assert not ready or ready["status"] != "True", "killed too late: already Ready"

    # Killed again at other points of the following reconciles.
    for delay in (0.3, 0.8, 1.5):
        operator.start()
        time.sleep(delay)
        operator.kill()

    operator.start()
    crs.wait_ready(timeout=90)
    assert crs.secret("litemaas-credentials") == creds, "a generated credential changed"
    assert_credentials_consistent(crs, creds)
    assert len(namespaced_children(crs)) > len(partial), partial


@on_openshift
@pytest.mark.timeout(300)
def test_operator_recovers_from_an_apiserver_restart_without_being_restarted(
    cluster, crs: CRs, operator: OperatorProcess
):
    if not cluster.owned:
        pytest.skip("restart_apiserver needs a harness-run cluster")
    crs.create(openshift_sample())
    crs.wait_ready()
    pid = operator.proc.pid

    cluster.restart_apiserver(downtime=3.0)
    assert operator.alive() and operator.proc.pid == pid
    crs.wait_ready(timeout=60)

    # A spec change after the restart is applied by the same process.
    started = time.monotonic()
    crs.patch_spec("litemaas", {"backend": {"logLevel": "debug"}})

    def debug_logging() -> bool:
        containers = crs.deployment("litemaas-backend").spec.template.spec.containers
        return {e.name: e.value for e in containers[0].env}.get("LOG_LEVEL") == "debug"

    wait_until(debug_logging, 90, what="spec change applied after the restart")
    crs.wait_condition("litemaas", "Ready", timeout=60)
    print(f"spec change applied {time.monotonic() - started:.1f}s after the patch")
    assert operator.alive() and operator.proc.pid == pid
    assert liveness(operator) == 200


@on_openshift
@pytest.mark.timeout(240)
def test_a_child_deleted_again_and_again_is_restored_each_time(
    crs: CRs, operator: OperatorProcess, namespace: str
):
    crs.create(openshift_sample())
    crs.wait_ready()
    backend_secret = crs.secret("litemaas-backend")

    for attempt in range(5):
        before = uid(crs.deployment("litemaas-backend"))
        crs.apps.delete_namespaced_deployment("litemaas-backend", namespace)
        wait_until(
            lambda before=before: (
                (d := crs.deployment("litemaas-backend")) is not None
                and d.metadata.deletion_timestamp is None
                and uid(d) != before
            ),
            RESTORE_SECONDS,
            what=f"Deployment re-created after deletion #{attempt + 1}",
        )
        before = uid(crs.core.read_namespaced_secret("litemaas-backend", namespace))
        crs.core.delete_namespaced_secret("litemaas-backend", namespace)

        def secret_back(before: str | None = before) -> bool:
            try:
                obj = crs.core.read_namespaced_secret("litemaas-backend", namespace)
            except ApiException as err:
                if err.status == 404:
                    return False
                raise
            return uid(obj) != before

        wait_until(secret_back, RESTORE_SECONDS, what=f"Secret back after #{attempt + 1}")
        # Restored with the same values, not regenerated ones.
        assert crs.secret("litemaas-backend") == backend_secret

    crs.wait_condition("litemaas", "Ready", timeout=60)
    assert operator.alive()


@on_openshift
@pytest.mark.timeout(240)
def test_fields_another_manager_changes_are_reverted_and_then_left_alone(
    cluster, crs: CRs, operator: OperatorProcess, namespace: str
):
    crs.create(openshift_sample())
    crs.wait_ready()
    image = crs.deployment("litemaas-backend").spec.template.spec.containers[0].image
    jwt = crs.secret("litemaas-backend")["jwt-secret"]
    init = crs.core.read_namespaced_config_map("litemaas-postgres-init", namespace).data
    ports = crs.core.read_namespaced_service("litemaas-frontend", namespace).spec.ports
    port, target = ports[0].port, ports[0].target_port

    # Server-side apply with force: "someone-else" takes ownership of the backend image.
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=someone-else",
        "-n", namespace, "-f", "-",
        input=(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: litemaas-backend}\n"
            "spec: {template: {spec: {containers: [{name: backend, "
            "image: 'quay.io/evil/backend:6.6.6'}]}}}\n"
        ),
    )  # fmt: skip
    # Plain updates by other clients: a credential copy, a ConfigMap, a Service port, a label.
    crs.core.patch_namespaced_secret(
        "litemaas-backend", namespace, {"stringData": {"jwt-secret": "tampered"}}
    )
    crs.core.patch_namespaced_config_map(
        "litemaas-postgres-init", namespace, {"data": {"init-db.sh": "echo pwned"}}
    )
    crs.core.patch_namespaced_service(
        "litemaas-frontend",
        namespace,
        {"spec": {"ports": [{"port": port, "targetPort": 9999}]}},
    )
    crs.apps.patch_namespaced_deployment(
        "litemaas-frontend",
        namespace,
        [{"op": "remove", "path": "/metadata/labels/app.kubernetes.io~1managed-by"}],
    )

    def reverted() -> list[str]:
        left = []
        deployment = crs.deployment("litemaas-backend")
        if deployment.spec.template.spec.containers[0].image != image:
            left.append("image")
        if crs.secret("litemaas-backend")["jwt-secret"] != jwt:
            left.append("jwt-secret")
        if crs.core.read_namespaced_config_map("litemaas-postgres-init", namespace).data != init:
            left.append("configmap")
        ports = crs.core.read_namespaced_service("litemaas-frontend", namespace).spec.ports
        if [(p.port, p.target_port) for p in ports] != [(port, target)]:
            left.append(f"service ports {ports}")
        labels = crs.deployment("litemaas-frontend").metadata.labels or {}
        if labels.get("app.kubernetes.io/managed-by") != "litemaas-operator":
            left.append("label")
        return left

    wait_until(lambda: not reverted(), RESTORE_SECONDS + 15, what="all edits reverted")
    crs.wait_condition("litemaas", "Ready", timeout=60)
    deployment = crs.deployment("litemaas-backend")
    owners = {
        e.manager
        for e in deployment.metadata.managed_fields
        if "quay.io" in str(e.fields_v1) or "f:image" in str(e.fields_v1)
    }
    assert "litemaas-operator" in owners, owners

    # Reverted once, not fought over: the operator applies nothing more while nobody edits.
    time.sleep(2)
    applied = applies_total(operator)
    time.sleep(4)
    assert applies_total(operator) == applied


@on_openshift
@pytest.mark.timeout(300)
def test_cr_deleted_while_its_creation_is_in_flight_leaves_only_retained_data(
    crs: CRs, operator: OperatorProcess
):
    delays = (0.0, 0.05, 0.3, 0.8, 1.5)
    names = [f"inflight{i}" for i in range(len(delays))]
    for name, delay in zip(names, delays, strict=True):
        crs.create(openshift_sample(), name=name)
        time.sleep(delay)
        crs.delete(name)
    for name in names:
        crs.wait_gone(name, timeout=60)  # no finalizer left hanging

    def leftovers() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            retained = {("Secret", f"{name}-credentials")} | {
                ("PersistentVolumeClaim", p)
                for p in (f"data-{name}-postgres-0", f"{name}-backend-backup")
            }
            extra = namespaced_children(crs, name) - retained
            extra_cluster = cluster_leftovers(crs, name)
            if extra or extra_cluster:
                out[name] = sorted(map(str, extra)) + extra_cluster
        return out

    try:
        wait_until(lambda: not leftovers(), 60, what="only retained data left")
    except TimeoutError:
        pytest.fail(f"left behind after deletion: {leftovers()}")
    # ... and nothing comes back later from a reconcile that was still running.
    time.sleep(5)
    assert leftovers() == {}
    assert metric(operator, "litemaas_operator_instances") == 0
    assert operator.alive() and liveness(operator) == 200


# Malformed CRs sent while the operator runs. test_crd_validation.py pins the schema's
# messages one by one; here the point is the mix, sent to a running operator: schema errors
# must be refused by the API server, and what only the operator can know (references to
# Secrets, what this cluster serves) must reach the CR's status as Stalled with a message.
REJECTED: list[tuple[str, Any, list[str]]] = [
    ("spec-not-an-object", "everything", ["spec", "must be of type object"]),
    ("unknown-top-field", {"replicas": 3}, ['unknown field "spec.replicas"']),
    ("unknown-nested-field", {"backend": {"replica": 2}}, ['unknown field "spec.backend.replica"']),
    ("admins-not-a-list", {"groups": {"admins": "admin"}}, ["spec.groups.admins", "array"]),
    ("float-replicas", {"redis": {"replicas": 1.5}}, ["spec.redis.replicas", "integer"]),
    ("env-not-a-list", {"backend": {"extraEnv": {"A": "1"}}}, ["spec.backend.extraEnv"]),
    ("replicas-1000", {"backend": {"replicas": 1000}}, ["spec.backend.replicas", "20"]),
    ("budget-negative", {"backend": {"defaultUser": {"maxBudget": -1}}}, ["maxBudget"]),
    ("rate-limit-zero", {"backend": {"rateLimit": {"max": 0}}}, ["spec.backend.rateLimit.max"]),
    ("huge-domain", {"domain": "a" * 100_000}, ["spec.domain", "Too long"]),
    ("huge-oidc-issuer", {"auth": {"oidc": {
        "issuer": "https://" + "i" * 5000, "clientId": "x",
        "clientSecret": {"name": "s", "key": "k"}}}}, ["spec.auth.oidc.issuer", "Too long"]),
    ("oversized-cr", {"backend": {"extraEnv": [
        {"name": f"A{i}", "value": "x" * 32_000} for i in range(64)]}},
     ["request is too large"]),
    ("bad-log-level", {"backend": {"logLevel": "verbose"}}, ["spec.backend.logLevel"]),
    ("bad-oidc-secret-ref", {"auth": {"oidc": {
        "issuer": "https://sso.example.com", "clientId": "x",
        "clientSecret": {"name": "a/b", "key": "k"}}}}, ["spec.auth.oidc.clientSecret.name"]),
]  # fmt: skip

STALLED: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("missing-jwt-secret", {"secrets": {"jwtSecret": {"name": "nope-jwt", "key": "k"}}},
     "SecretNotFound", ["nope-jwt", "spec.secrets.jwtSecret"]),
    ("missing-postgres-secret", {"secrets": {"postgresPassword": {"name": "nope-pg", "key": "k"}}},
     "SecretNotFound", ["nope-pg", "spec.secrets.postgresPassword"]),
    ("secret-without-key", {"secrets": {"litellmMasterKey": {"name": "present", "key": "absent"}}},
     "SecretKeyMissing", ["present", "absent"]),
    ("missing-external-db", {"database": {"mode": "external",
                                          "external": {"secretName": "nope-db"}}},
     "SecretNotFound", ["nope-db", "spec.database.external"]),
    ("external-db-without-keys", {"database": {"mode": "external",
                                               "external": {"secretName": "present"}}},
     "SecretKeyMissing", ["present"]),
    ("missing-oidc-secret", {"auth": {"oidc": {
        "issuer": "https://sso.example.com", "clientId": "x",
        "clientSecret": {"name": "nope-oidc", "key": "k"}}}},
     "SecretNotFound", ["nope-oidc", "spec.auth.oidc.clientSecret"]),
    ("kubernetes-oauthclient", {"platform": "kubernetes", "domain": "apps.example.com",
                                "auth": {"mode": "oauthclient"}},
     "OAuthUnavailable", ["auth.mode oauthclient", "oidc"]),
    ("kubernetes-route", {"platform": "kubernetes", "routing": {"type": "route"},
                          "auth": {"oidc": {"issuer": "https://sso.example.com",
                                            "clientId": "x",
                                            "clientSecret": {"name": "present", "key": "k"}}}},
     "RoutesUnavailable", ["route.openshift.io"]),
]  # fmt: skip


def test_the_malformed_mix_is_big_enough():
    assert len(REJECTED) + len(STALLED) >= 20


@on_openshift
@pytest.mark.timeout(300)
def test_malformed_crs_are_refused_or_stalled_and_the_operator_stays_healthy(
    crs: CRs, operator: OperatorProcess, namespace: str
):
    crs.create_secret("present", {"k": "a-value-of-sufficient-length-0123456789"})
    refused: dict[str, str] = {}
    unclear: list[str] = []
    for name, spec, words in REJECTED:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "LiteMaaS", "metadata": {"name": name}}
        body["spec"] = spec
        with pytest.raises(ApiException) as caught:
            crs.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, body, field_validation="Strict"
            )
        body_text = caught.value.body or ""
        try:
            message = json.loads(body_text)["message"]
        except (ValueError, KeyError, TypeError):
            message = str(body_text)
        refused[name] = message
        # etcd's own size limit surfaces as a 500 with its message; anything else is a 4xx.
        status_ok = caught.value.status in (400, 413, 422) or (
            caught.value.status == 500 and "too large" in message
        )
        if not status_ok or not all(w.lower() in message.lower() for w in words):
            unclear.append(f"{name}: {caught.value.status} {message[:300]}")
    assert not unclear, "\n".join(unclear)
    assert not crs.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]

    for name, spec, _, _ in STALLED:
        body = copy.deepcopy(openshift_sample())
        body["spec"].update(spec)
        crs.create(body, name=name)
    for name, _, reason, words in STALLED:
        stalled = crs.wait_condition(name, "Stalled", "True", timeout=60)
        assert stalled["reason"] == reason, (name, stalled)
        for word in words:
            assert word in stalled["message"], (name, word, stalled["message"])
        cr = crs.get(name)
        assert cr["status"]["phase"] == "Stalled"
        assert crs.condition(name, "Ready")["status"] == "False"

    # Healthy afterwards: same process, live, and a valid CR still becomes Ready.
    assert operator.alive()
    assert liveness(operator) == 200
    crs.create(openshift_sample(), name="good")
    crs.wait_ready("good", timeout=90)
    assert "Traceback" not in operator.logs()
