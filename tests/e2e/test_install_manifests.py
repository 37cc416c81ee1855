"""The plain install (`kubectl apply --server-side -k manifests/`) runs every sample to Ready.

The operator runs with the installed ServiceAccount's token, so a missing right shows up as a
403 in its log or a sample that never becomes Ready; a right too many shows up in the can-i
tests below.
"""

from __future__ import annotations

import pytest

from harness.waiting import wait_until
from support.crs import CRs
from support.install import (
    NAMESPACED_KINDS,
    PREREQUISITES,
    SAMPLES,
    Installed,
    can_i,
    cluster_objects_of,
    create_prerequisites,
    forbidden_lines,
    objects,
    sample,
    sample_namespace,
)

pytestmark = [pytest.mark.e2e]
KINDS = [*NAMESPACED_KINDS, "routes.route.openshift.io"]


def retained(name: str, spec: dict) -> set[tuple[str, str]]:
    """What deleting the CR deliberately keeps: the data and the credentials that open it."""
    database = spec.get("database") or {}
    if database.get("deleteClaimOnDelete"):
        return set()
    keep = {("Secret", f"{name}-credentials"), ("PersistentVolumeClaim", f"{name}-backend-backup")}
    if database.get("mode", "embedded") == "embedded":
        keep.add(("PersistentVolumeClaim", f"data-{name}-postgres-0"))
    return keep


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sample_name", sorted(PREREQUISITES))
def test_sample_reaches_ready_and_leaves_only_retained_data(
    plain_install: Installed, sample_name: str
) -> None:
    cluster = plain_install.cluster
    ns = sample_namespace(plain_install, "e2e-plain")
    user_secrets = {("Secret", s) for s in create_prerequisites(cluster, ns, sample_name)}
    cr = sample(sample_name)
    name = cr["metadata"]["name"]
    crs = CRs(cluster, ns)

    cluster.kubectl("apply", "-n", ns, "-f", str(SAMPLES / f"{sample_name}.yaml"))
    ready = crs.wait_ready(name, timeout=120)
    assert ready["status"]["urls"]["frontend"].startswith("https://"), ready["status"]
    children = objects(cluster, ns, KINDS)
    assert ("Deployment", f"{name}-backend") in children, children

    crs.delete(name)
    crs.wait_gone(name, timeout=90)
    expected = retained(name, cr["spec"]) | user_secrets
    # The garbage collector removes owned children in the background.
    try:
        wait_until(lambda: objects(cluster, ns, KINDS) == expected, 90, what="leftovers")
    except TimeoutError:
        assert sorted(objects(cluster, ns, KINDS)) == sorted(expected)
    # Every PVC that is left has no ownerReference (so no GC can take it later).
    for kind, pvc in expected:
        if kind == "PersistentVolumeClaim":
            out = cluster.kubectl(
                "get", "pvc", pvc, "-n", ns, "-o", "jsonpath={.metadata.ownerReferences}"
            )
            assert out.stdout == "", out.stdout
    leftovers = cluster_objects_of(cluster, ns, ["oauthclients", "groups"])
    assert leftovers == [], leftovers
    denied = forbidden_lines(plain_install.operator.logs())
    assert denied == [], "\n".join(denied)


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
    ("patch", "ingresses.networking.k8s.io"),
    ("patch", "networkpolicies.networking.k8s.io"),
    ("patch", "litemaases.litemaas.io"),
    ("patch", "litemaases.litemaas.io/status"),
    ("update", "litemaases.litemaas.io/finalizers"),
    ("create", "events"),
]
MUST_CLUSTER = [
    ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "oauthclients.oauth.openshift.io"),
    ("delete", "oauthclients.oauth.openshift.io"),
    ("update", "groups.user.openshift.io"),
    ("get", "ingresses.config.openshift.io/cluster"),
]
# Rights it must not have: each would let a compromised operator take over the cluster or
# reach beyond what it manages.
MUST_NOT_CLUSTER = [
    ("create", "namespaces"),
    ("delete", "namespaces"),
    ("get", "nodes"),
    ("create", "pods"),
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
