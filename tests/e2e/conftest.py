"""Fixtures of the install e2e tests: an installed operator running on its own RBAC."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from support.install import (
    HELM_NAMESPACE,
    HELM_RELEASE,
    OPERATOR_NAMESPACE,
    ROOT,
    Installed,
    leader_election_env,
    new_namespace,
    token_kubeconfig,
    tool,
    wait_crd,
)
from support.operator import OperatorProcess


@pytest.fixture(scope="module")
def manifests_install(openshift_cluster: Any) -> Iterator[Any]:
    """``kubectl apply --server-side -k manifests/`` with its Deployment scaled to 0.

    kwok runs no containers: the Deployment's pod would only look Running. So the install is
    real (CRDs, RBAC, ServiceAccount, the Deployment as a pod template) and each test runs the
    operator its own way with the ServiceAccount's identity: ``plain_install`` as a local
    process, tests/e2e/test_image.py from the image under runc. Yields the cluster.
    """
    cluster = openshift_cluster
    # A previous module's install may still be going away (its namespace is deleted unawaited).
    cluster.kubectl(
        "wait", "--for=delete", f"namespace/{OPERATOR_NAMESPACE}", "--timeout=120s", check=False
    )
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "manifests"))
    wait_crd(cluster)
    cluster.kubectl(
        "scale", "deployment/litemaas-operator", "-n", OPERATOR_NAMESPACE, "--replicas=0"
    )
    yield cluster
    # Everything but the CRD (other tests of the session use it).
    cluster.kubectl("delete", f"namespace/{OPERATOR_NAMESPACE}", "--wait=false", check=False)
    cluster.kubectl(
        "delete",
        "clusterrole,clusterrolebinding",
        "-l",
        "app.kubernetes.io/name=litemaas-operator",
        check=False,
    )


@pytest.fixture(scope="module")
def plain_install(
    manifests_install: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installed]:
    """The plain install, with the operator run here as its ServiceAccount.

    It watches all namespaces, as the plain install's Deployment does (WATCH_NAMESPACE="").
    """
    cluster = manifests_install
    kubeconfig = token_kubeconfig(cluster, tmp_path_factory.mktemp("sa") / "kubeconfig")
    election = leader_election_env(cluster, OPERATOR_NAMESPACE, "litemaas-operator")
    operator = OperatorProcess(kubeconfig, [], resync_seconds=30, extra_env=election).start()
    installed = Installed(cluster, operator)
    yield installed
    operator.stop()
    for ns in installed.namespaces:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="module")
def helm_install(
    kubernetes_cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installed]:
    """``helm install`` of charts/operator watching one namespace (Roles, not ClusterRoles).

    On the kubernetes flavour: the chart's path through plain Kubernetes and namespaced RBAC.
    """
    helm = tool("helm")
    if helm is None:
        pytest.fail("helm is not built: run `hack/tools.sh helm` (make setup does)")
    cluster = kubernetes_cluster
    watched = new_namespace(cluster, "e2e-helm")
    kubeconfig = ["--kubeconfig", str(cluster.kubeconfig)]
    # A CRD installed earlier in the session (integration tests) is adopted by the release,
    # as `helm install` documents for existing objects.
    for plural in ("litemaases", "litemaasbackups", "litemaasrestores"):
        crd = f"crd/{plural}.litemaas.io"
        if cluster.kubectl("get", crd, check=False).returncode != 0:
            continue
        cluster.kubectl("label", "--overwrite", crd, "app.kubernetes.io/managed-by=Helm")
        cluster.kubectl(
            "annotate",
            "--overwrite",
            crd,
            f"meta.helm.sh/release-name={HELM_RELEASE}",
            f"meta.helm.sh/release-namespace={HELM_NAMESPACE}",
        )
    subprocess.run(
        [
            str(helm),
            "install",
            HELM_RELEASE,
            str(ROOT / "charts/operator"),
            "--namespace",
            HELM_NAMESPACE,
            "--create-namespace",
            "--set",
            f"watchNamespaces={{{watched}}}",
            *kubeconfig,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    wait_crd(cluster)
    cluster.kubectl("scale", f"deployment/{HELM_RELEASE}", "-n", HELM_NAMESPACE, "--replicas=0")
    token = token_kubeconfig(
        cluster, tmp_path_factory.mktemp("helm-sa") / "kubeconfig", HELM_NAMESPACE, HELM_RELEASE
    )
    election = leader_election_env(cluster, HELM_NAMESPACE, HELM_RELEASE)
    operator = OperatorProcess(token, [watched], resync_seconds=30, extra_env=election).start()
    installed = Installed(cluster, operator, [watched])
    yield installed
    operator.stop()
    subprocess.run(
        [str(helm), "uninstall", HELM_RELEASE, "--namespace", HELM_NAMESPACE, *kubeconfig],
        check=False,
        capture_output=True,
    )
    for ns in [*installed.namespaces, HELM_NAMESPACE]:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
