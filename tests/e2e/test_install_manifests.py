"""The plain install (`kubectl apply --server-side -k manifests/`) runs every sample to Ready.

The operator runs with the installed ServiceAccount's token, so a missing right shows up as a
403 in its log or a sample that never becomes Ready; a right too many shows up in the can-i
tests below.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from typing import Any

import pytest

from harness import config
from harness.waiting import wait_until
from litemaas_operator.install import LEASE_NAME
from support.install import (
    NAMESPACED_KINDS,
    OPERATOR_NAMESPACE,
    PREREQUISITES,
    Installed,
    can_i,
    sample_lifecycle,
    sample_namespace,
)

pytestmark = [pytest.mark.e2e]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sample_name", sorted(PREREQUISITES))
def test_sample_reaches_ready_and_leaves_only_retained_data(
    plain_install: Installed, sample_name: str
) -> None:
    ns = sample_namespace(plain_install, "e2e-plain")
    sample_lifecycle(
        plain_install, ns, sample_name, [*NAMESPACED_KINDS, "routes.route.openshift.io"]
    )


# Rights the operator needs, checked where it uses them (a sample namespace, cluster scope).
MUST = [
    ("create", "secrets"),
    ("patch", "secrets"),
    ("delete", "secrets"),
    ("watch", "secrets"),
    ("patch", "deployments.apps"),
    ("patch", "statefulsets.apps"),
    ("patch", "persistentvolumeclaims"),
    ("patch", "routes.route.openshift.io"),
    ("create", "routes.route.openshift.io/custom-host"),
    ("update", "routes.route.openshift.io/custom-host"),
    ("patch", "ingresses.networking.k8s.io"),
    ("patch", "networkpolicies.networking.k8s.io"),
    ("patch", "litemaases.litemaas.io"),
    ("patch", "litemaases.litemaas.io/status"),
    ("update", "litemaases.litemaas.io/finalizers"),
    ("create", "events"),
    # Read only: why a component's pods are stuck (controller/stuck_pods.py).
    ("get", "pods"),
    ("list", "pods"),
]
MUST_CLUSTER = [
    ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "oauthclients.oauth.openshift.io"),
    ("delete", "oauthclients.oauth.openshift.io"),
    ("update", "groups.user.openshift.io/litemaas-admins"),
    ("update", "groups.user.openshift.io/litemaas-readonly"),
    ("update", "groups.user.openshift.io/litemaas-users"),
    ("get", "ingresses.config.openshift.io/cluster"),
]
# Rights it must not have: each would let a compromised operator take over the cluster or
# reach beyond what it manages.
MUST_NOT_CLUSTER = [
    ("create", "namespaces"),
    ("delete", "namespaces"),
    ("get", "nodes"),
    ("create", "pods"),
    ("patch", "pods"),
    ("delete", "pods"),
    ("create", "pods/exec"),
    ("get", "pods/log"),
    ("create", "serviceaccounts/token"),
    ("create", "clusterroles.rbac.authorization.k8s.io"),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ("create", "roles.rbac.authorization.k8s.io"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
    ("escalate", "clusterroles.rbac.authorization.k8s.io"),
    ("bind", "clusterroles.rbac.authorization.k8s.io"),
    ("impersonate", "users"),
    ("impersonate", "serviceaccounts"),
    ("impersonate", "groups"),
    ("create", "customresourcedefinitions.apiextensions.k8s.io"),
    ("delete", "customresourcedefinitions.apiextensions.k8s.io"),
    ("update", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "mutatingwebhookconfigurations.admissionregistration.k8s.io"),
    ("create", "validatingadmissionpolicies.admissionregistration.k8s.io"),
    ("create", "persistentvolumes"),
    ("deletecollection", "secrets"),
    ("deletecollection", "persistentvolumeclaims"),
    ("update", "litemaases.litemaas.io"),  # never writes the spec (GitOps drift)
    ("create", "litemaases.litemaas.io"),
    ("delete", "litemaases.litemaas.io"),
    ("update", "secrets"),
    ("list", "groups.user.openshift.io"),
    # Groups only by the three LiteMaaS names (create cannot be limited by RBAC: the admission
    # policy limits it).
    ("update", "groups.user.openshift.io/cluster-admins"),
    ("delete", "groups.user.openshift.io/cluster-admins"),
    ("update", "oauthclients.oauth.openshift.io"),
    ("patch", "ingresses.config.openshift.io"),
    ("get", "ingresses.config.openshift.io/other"),
    ("create", "certificatesigningrequests.certificates.k8s.io"),
    ("list", "namespaces"),
]


@pytest.mark.timeout(120)
def test_service_account_has_what_it_needs(plain_install: Installed) -> None:
    ns = sample_namespace(plain_install, "e2e-cani")
    missing = [f"{v} {r}" for v, r in MUST if not can_i(plain_install.cluster, v, r, ns)]
    missing += [f"{v} {r}" for v, r in MUST_CLUSTER if not can_i(plain_install.cluster, v, r)]
    assert missing == []


@pytest.mark.timeout(120)
def test_service_account_has_nothing_more(plain_install: Installed) -> None:
    granted = [f"{v} {r}" for v, r in MUST_NOT_CLUSTER if can_i(plain_install.cluster, v, r)]
    assert granted == []


def _as_operator(installed: Installed, *args: str, body: Any = None) -> str:
    """kubectl with the operator's own token; returns what the API server refused, or ''."""
    out = subprocess.run(
        [config.kubectl_path(), "--kubeconfig", str(installed.operator.kubeconfig), *args],
        input=json.dumps(body) if body is not None else None,
        text=True,
        capture_output=True,
        check=False,
    )
    return "" if out.returncode == 0 else out.stderr


def _deployment(name: str, namespace: str, labels: dict[str, str], sa: str) -> dict[str, Any]:
    pod_labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": pod_labels},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": sa,
                    "containers": [{"name": "c", "image": "registry.example.com/c:1"}],
                },
            },
        },
    }


@pytest.mark.timeout(180)
def test_the_operators_token_cannot_reach_beyond_what_it_manages(plain_install: Installed) -> None:
    """A stolen operator token, held to the operator-writes admission policy."""
    cluster = plain_install.cluster
    ns = sample_namespace(plain_install, "e2e-steal")
    managed = {"app.kubernetes.io/managed-by": "litemaas-operator"}
    token_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {
            "name": "default-token-stolen",
            "namespace": ns,
            "labels": managed,
            "annotations": {"kubernetes.io/service-account.name": "default"},
        },
    }
    # The policy is enforced once the API server has loaded it.
    wait_until(
        lambda: (
            "service-account-token"
            in _as_operator(plain_install, "create", "-f", "-", body=token_secret)
        ),
        60,
        what="a token for another ServiceAccount refused",
    )
    assert cluster.kubectl(
        "get", "secret", "default-token-stolen", "-n", ns, check=False
    ).returncode

    victim = f"victim-{secrets.token_hex(3)}"
    cluster.kubectl(
        "create", "-f", "-", input=json.dumps(_deployment(victim, "kube-system", {}, "default"))
    )
    # The controller-manager updates the new Deployment's status meanwhile: compare what a
    # patch would change (generation, labels, replicas), not the resourceVersion.
    shape = "jsonpath={.metadata.generation} {.metadata.labels} {.spec.replicas}"
    try:
        before = cluster.kubectl(
            "get", "deployment", victim, "-n", "kube-system", "-o", shape
        ).stdout
        # Patching someone else's Deployment, even while adding the label, is refused.
        for patch in ({"spec": {"replicas": 1}}, {"metadata": {"labels": managed}}):
            refused = _as_operator(
                plain_install, "patch", "deployment", victim, "-n", "kube-system",
                "--type=merge", "-p", json.dumps(patch),
            )  # fmt: skip
            assert "managed-by=litemaas-operator" in refused, refused
        after = cluster.kubectl(
            "get", "deployment", victim, "-n", "kube-system", "-o", shape
        ).stdout
        assert before == after
        assert "managed-by=litemaas-operator" in _as_operator(
            plain_install, "delete", "deployment", victim, "-n", "kube-system"
        )
    finally:
        cluster.kubectl("delete", "deployment", victim, "-n", "kube-system", check=False)

    # A labelled workload of its own still may not run as a powerful ServiceAccount.
    pod_as_admin = _deployment(
        f"x-{victim}", "kube-system", managed, "clusterrole-aggregation-controller"
    )
    assert "unprivileged pods" in _as_operator(
        plain_install, "create", "-f", "-", body=pod_as_admin
    )
    # No Secret without the label; no Group but the three; no OAuthClient with every scope.
    plain_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": ns},
    }
    assert "managed-by=litemaas-operator" in _as_operator(
        plain_install, "create", "-f", "-", body=plain_secret
    )
    group = {
        "apiVersion": "user.openshift.io/v1",
        "kind": "Group",
        "metadata": {"name": "cluster-admins", "labels": managed},
        "users": ["mallory"],
    }
    assert "litemaas-admins" in _as_operator(plain_install, "create", "-f", "-", body=group)
    client = {
        "apiVersion": "oauth.openshift.io/v1",
        "kind": "OAuthClient",
        "metadata": {"name": f"steal-{victim}", "labels": managed},
        "secret": "x",
        "redirectURIs": ["https://evil.example.com/cb"],
        "grantMethod": "auto",
    }
    assert "scopes" in _as_operator(plain_install, "create", "-f", "-", body=client)
    for kind, name in (("groups.user.openshift.io", "cluster-admins"),
                       ("oauthclients.oauth.openshift.io", f"steal-{victim}")):  # fmt: skip
        assert cluster.kubectl("get", kind, name, check=False).returncode != 0


@pytest.mark.timeout(120)
def test_the_operator_holds_its_lease_and_may_touch_no_other(plain_install: Installed) -> None:
    cluster = plain_install.cluster
    lease = "leases.coordination.k8s.io"
    out = cluster.kubectl("get", lease, LEASE_NAME, "-n", OPERATOR_NAMESPACE, "-o", "json")
    assert json.loads(out.stdout)["spec"]["holderIdentity"]  # it leads, on the install's Role
    assert can_i(cluster, "get", f"{lease}/{LEASE_NAME}", OPERATOR_NAMESPACE)
    assert can_i(cluster, "update", f"{lease}/{LEASE_NAME}", OPERATOR_NAMESPACE)
    assert can_i(cluster, "create", lease, OPERATOR_NAMESPACE)
    # Another component's Lease, or its own name elsewhere: a stolen token cannot take them.
    assert not can_i(cluster, "update", f"{lease}/kube-controller-manager", OPERATOR_NAMESPACE)
    assert not can_i(cluster, "update", f"{lease}/{LEASE_NAME}", "kube-system")
    assert not can_i(cluster, "create", lease, "kube-system")
    assert not can_i(cluster, "delete", f"{lease}/{LEASE_NAME}", OPERATOR_NAMESPACE)
