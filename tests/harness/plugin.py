"""pytest plugin: real clusters for integration and e2e tests (registered by tests/conftest.py).

Fixtures:
    openshift_cluster, kubernetes_cluster (session): a :class:`~harness.cluster.Cluster`.
        Started lazily, on first use, as a local control plane (``hack/cluster.sh build``
        must have run), unless a kubeconfig is given for that flavour:
        ``--kubeconfig-openshift PATH`` / ``$LITEMAAS_KUBECONFIG_OPENSHIFT`` and
        ``--kubeconfig-kubernetes PATH`` / ``$LITEMAAS_KUBECONFIG_KUBERNETES`` / ``$KUBECONFIG``.
        On an external openshift-flavour cluster that is not real OpenShift, the stand-in
        CRDs are installed and the fake router runs in a thread of the pytest process.
    cluster (session): parametrized over both flavours, ids ``openshift`` and ``kubernetes``.
    namespace (function): a fresh namespace in ``cluster``, deleted (not awaited) afterwards.

Markers: ``integration`` (needs an API server), ``e2e`` (runs the operator against one).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from . import config as harness_config
from . import control_plane, openshift
from .cluster import Cluster
from .router import FakeRouter
from .waiting import wait_until

FLAVOURS = ("openshift", "kubernetes")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("litemaas-harness", "LiteMaaS test clusters")
    for flavour in FLAVOURS:
        group.addoption(
            f"--kubeconfig-{flavour}",
            metavar="PATH",
            default=None,
            help=f"use this cluster as the {flavour}-flavour cluster instead of starting one"
            f" (also $LITEMAAS_KUBECONFIG_{flavour.upper()}"
            + ("; plain $KUBECONFIG counts too)" if flavour == "kubernetes" else ")"),
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: needs a real API server (harness cluster or --kubeconfig-*)"
    )
    config.addinivalue_line("markers", "e2e: runs the operator end to end against an API server")


def external_kubeconfig(pytest_config: pytest.Config, flavour: str) -> Path | None:
    """The kubeconfig the user chose for a flavour, or None to start a harness cluster."""
    value = pytest_config.getoption(f"--kubeconfig-{flavour}") or os.environ.get(
        f"LITEMAAS_KUBECONFIG_{flavour.upper()}"
    )
    if not value and flavour == "kubernetes":
        value = os.environ.get("KUBECONFIG")
    return Path(value).expanduser() if value else None


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for flavour in FLAVOURS:
        path = external_kubeconfig(config, flavour)
        where = (
            f"external, {path}" if path else f"harness, on demand ({harness_config.cache_root()})"
        )
        lines.append(f"litemaas {flavour} cluster: {where}")
    return lines


class ClusterManager:
    """Starts (once) and stops the session's clusters; remembers a failed start."""

    def __init__(self, pytest_config: pytest.Config) -> None:
        self._config = pytest_config
        self._clusters: dict[str, Cluster] = {}
        self._failures: dict[str, str] = {}
        self._started: list[control_plane.ControlPlane] = []

    def get(self, flavour: str) -> Cluster:
        if flavour in self._failures:  # fail every later test fast instead of retrying
            pytest.fail(self._failures[flavour], pytrace=False)
        if flavour not in self._clusters:
            try:
                path = external_kubeconfig(self._config, flavour)
                self._clusters[flavour] = (
                    self._external(flavour, path) if path else self._own(flavour)
                )
            except (harness_config.MissingBinariesError, control_plane.HarnessError) as exc:
                self._failures[flavour] = f"{flavour} cluster unavailable: {exc}"
                pytest.fail(self._failures[flavour], pytrace=False)
        return self._clusters[flavour]

    def _own(self, flavour: str) -> Cluster:
        name = f"pytest-{flavour}-{os.getpid()}"
        cp = control_plane.up(name, flavour, domain=_domain(), owned=True)
        self._started.append(cp)
        return Cluster(name, flavour, cp.kubeconfig, cp.domain, cp.server, control_plane=cp)

    def _external(self, flavour: str, path: Path) -> Cluster:
        if not path.is_file():
            raise control_plane.HarnessError(f"kubeconfig {path} does not exist")
        # A cluster from `hack/cluster.sh up`: keep its restart ability and its own router.
        harness_cp = next(
            (
                cp
                for cp in control_plane.list_clusters()
                if cp.kubeconfig.resolve() == path.resolve()
            ),
            None,
        )
        cluster = Cluster(f"external-{flavour}", flavour, path, None, "", control_plane=harness_cp)
        with cluster.api_client() as api:
            cluster.server = api.configuration.host
        is_openshift = "route.openshift.io/v1" in cluster.kubectl("api-versions").stdout.split()
        if flavour == "kubernetes":
            if is_openshift:
                raise control_plane.HarnessError(
                    f"{path} serves route.openshift.io, but the kubernetes flavour needs a plain"
                    " cluster (unset KUBECONFIG or pass --kubeconfig-kubernetes)"
                )
            return cluster
        if harness_cp is not None and harness_cp.flavour == "openshift":
            cluster.domain = harness_cp.domain
        elif openshift.is_real_openshift(cluster.kubectl):
            cluster.domain = cluster.kubectl(
                "get", "ingresses.config.openshift.io", "cluster", "-o", "jsonpath={.spec.domain}"
            ).stdout.strip()
        else:
            cluster.domain = openshift.install(cluster.kubectl, _domain())
            cluster.router = FakeRouter(
                cluster.api_client, cluster.domain, assign_hosts=True
            ).start()
        return cluster

    def close(self) -> None:
        for cluster in self._clusters.values():
            if cluster.router is not None:
                cluster.router.stop()
        for cp in self._started:
            cp.stop()


def _domain() -> str:
    return os.environ.get("LITEMAAS_APPS_DOMAIN", harness_config.DEFAULT_DOMAIN)


@pytest.fixture(scope="session")
def _litemaas_clusters(pytestconfig: pytest.Config) -> Iterator[ClusterManager]:
    manager = ClusterManager(pytestconfig)
    yield manager
    manager.close()


@pytest.fixture(scope="session")
def openshift_cluster(_litemaas_clusters: ClusterManager) -> Cluster:
    """The openshift-flavour cluster (stand-in OpenShift APIs, fake router)."""
    return _litemaas_clusters.get("openshift")


@pytest.fixture(scope="session")
def kubernetes_cluster(_litemaas_clusters: ClusterManager) -> Cluster:
    """The plain-Kubernetes-flavour cluster (no OpenShift APIs)."""
    return _litemaas_clusters.get("kubernetes")


@pytest.fixture(scope="session", params=FLAVOURS, ids=FLAVOURS)
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """Each flavour in turn; a test using it runs once per flavour."""
    return request.getfixturevalue(f"{request.param}_cluster")


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new namespace named after the test, with its default ServiceAccount in place.

    Deletion is requested, not awaited, afterwards: waiting for finalizers would slow every
    test, and the names never repeat.
    """
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{stem}-{secrets.token_hex(3)}"
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespace(
            client.V1Namespace(
                metadata=client.V1ObjectMeta(name=name, labels={"litemaas.io/test": "true"})
            )
        )
        # Like Kubernetes' own e2e framework: pods are refused until the default SA exists.
        wait_until(
            lambda: core.read_namespaced_service_account("default", name),
            timeout=30,
            what=f"ServiceAccount {name}/default",
        )
        try:
            yield name
        finally:
            try:
                core.delete_namespace(name, propagation_policy="Background", _request_timeout=10)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
