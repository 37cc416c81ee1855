"""The Helm chart's install, watching one namespace, runs the Kubernetes sample to Ready.

The operator runs with the chart's ServiceAccount token; its namespaced rights come from a
Role in the watched namespace only, which the can-i test pins.
"""

from __future__ import annotations

import pytest

from support.install import (
    HELM_NAMESPACE,
    HELM_RELEASE,
    NAMESPACED_KINDS,
    Installed,
    can_i,
    sample_lifecycle,
)

pytestmark = [pytest.mark.e2e]


@pytest.mark.timeout(300)
def test_kubernetes_sample_reaches_ready_and_leaves_only_retained_data(
    helm_install: Installed,
) -> None:
    sample_lifecycle(
        helm_install, helm_install.namespaces[0], "litemaas-kubernetes", NAMESPACED_KINDS
    )


@pytest.mark.timeout(120)
def test_rights_stop_at_the_watched_namespace(helm_install: Installed) -> None:
    cluster, watched = helm_install.cluster, helm_install.namespaces[0]
    sa = (HELM_NAMESPACE, HELM_RELEASE)
    assert can_i(cluster, "get", "secrets", watched, sa=sa)
    assert can_i(cluster, "patch", "deployments.apps", watched, sa=sa)
    assert can_i(cluster, "watch", "customresourcedefinitions.apiextensions.k8s.io", sa=sa)
    assert not can_i(cluster, "get", "secrets", "kube-system", sa=sa)
    assert not can_i(cluster, "list", "secrets", sa=sa)  # all namespaces
    assert not can_i(cluster, "patch", "deployments.apps", "default", sa=sa)
    assert not can_i(cluster, "list", "litemaases.litemaas.io", sa=sa)
