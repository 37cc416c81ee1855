"""Fixtures for tests that run the operator against a real API server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.crs import CRs, install_crd
from support.operator import OperatorProcess

_crd_installed: set[str] = set()


@pytest.fixture
def litemaas_crd(cluster: Any) -> None:
    """The LiteMaaS CRD, installed once per cluster."""
    if cluster.name not in _crd_installed:
        install_crd(cluster)
        _crd_installed.add(cluster.name)


@pytest.fixture
def crs(cluster: Any, namespace: str, litemaas_crd: None) -> CRs:
    """CR helpers bound to the test's namespace."""
    return CRs(cluster, namespace)


@pytest.fixture
def operator(cluster: Any, namespace: str, litemaas_crd: None) -> Iterator[OperatorProcess]:
    """A running operator watching the test's namespace; stopped afterwards."""
    proc = OperatorProcess(cluster.kubeconfig, [namespace]).start()
    yield proc
    # Let the finalizers run while the operator is still here, so no CR (and no Group
    # membership) outlives its test.
    if not proc.alive():
        proc.start()
    remaining = CRs(cluster, namespace)
    for cr in remaining.custom.list_namespaced_custom_object(
        "litemaas.io", "v1alpha1", namespace, "litemaases"
    )["items"]:
        remaining.delete(cr["metadata"]["name"])
        remaining.wait_gone(cr["metadata"]["name"], timeout=30)
    proc.stop()
