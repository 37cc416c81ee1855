"""The plain install (`kubectl apply --server-side -k manifests/`) runs every sample to Ready.

The operator runs with the installed ServiceAccount's token, so a missing right shows up as a
403 in its log or a sample that never becomes Ready; a right too many shows up in the can-i
tests below.
"""

from __future__ import annotations

import pytest

from support.install import (
    NAMESPACED_KINDS,
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
