"""Fixtures of the install e2e tests: an installed operator running on its own RBAC."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.install import ROOT, Installed, token_kubeconfig, wait_crd
from support.operator import OperatorProcess


@pytest.fixture(scope="module")
def plain_install(
    openshift_cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installed]:
    """``kubectl apply --server-side -k manifests/``, then the operator as its ServiceAccount.

    It watches all namespaces, as the plain install's Deployment does (WATCH_NAMESPACE="").
    """
    cluster = openshift_cluster
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "manifests"))
    wait_crd(cluster)
    # kwok runs no containers: the Deployment's pod would only look Running. Scale it away
    # and run the same program here, with the same identity.
    cluster.kubectl(
        "scale", "deployment/litemaas-operator", "-n", "litemaas-operator-system", "--replicas=0"
    )
    kubeconfig = token_kubeconfig(cluster, tmp_path_factory.mktemp("sa") / "kubeconfig")
    operator = OperatorProcess(kubeconfig, [], resync_seconds=30).start()
    installed = Installed(cluster, operator)
    yield installed
    operator.stop()
    for ns in installed.namespaces:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
    # Everything but the CRD (other tests of the session use it).
    cluster.kubectl("delete", "namespace/litemaas-operator-system", "--wait=false", check=False)
    cluster.kubectl(
        "delete",
        "clusterrole,clusterrolebinding",
        "-l",
        "app.kubernetes.io/name=litemaas-operator",
        check=False,
    )
