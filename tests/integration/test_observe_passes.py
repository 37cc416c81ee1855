"""A child's status news is observed, not reconciled; a child's drift is still reconciled.

The operator runs against the shared harness cluster with a resync far longer than the test,
so every pass it makes comes from a watch. Its workloads becoming ready (kwok starts their
pods) are status-only changes: the CR reaches Ready through observe-only passes, counted by
``litemaas_operator_observations_total`` and not by ``litemaas_operator_reconciles_total``.
Then the backend's Deployment status is rewritten by hand (as its controller would when a pod
dies): the CR reports it not ready and then ready again, with no whole reconcile; and a change
of the Deployment's spec is put back by a whole reconcile.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from harness.waiting import wait_until
from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

BACKEND = "litemaas-backend"


def _metric(operator: OperatorProcess, name: str, **labels: str) -> float:
    """The sum of a counter's samples whose labels include ``labels``."""
    total = 0.0
    for line in operator.metrics().splitlines():
        if not line.startswith(f"{name}_total"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _reconciles(operator: OperatorProcess) -> float:
    return _metric(operator, "litemaas_operator_reconciles")


def _observations(operator: OperatorProcess) -> float:
    return _metric(operator, "litemaas_operator_observations")


def _backend_condition(crs: CRs) -> dict[str, Any] | None:
    return crs.condition("litemaas", "BackendReady")


@pytest.fixture
def cluster(openshift_cluster: Any) -> Any:
    """One flavour: how a wake is told apart does not depend on the platform."""
    return openshift_cluster


@pytest.fixture
def operator(cluster: Any, namespace: str, litemaas_crd: None) -> Iterator[OperatorProcess]:
    """The operator with a resync that never comes during the test."""
    proc = OperatorProcess(cluster.kubeconfig, [namespace], resync_seconds=3600).start()
    yield proc
    remaining = CRs(cluster, namespace)
    if remaining.get() is not None:
        remaining.delete()
        remaining.wait_gone(timeout=30)
    proc.stop()


def test_status_news_is_observed_and_drift_is_reconciled(
    crs: CRs, operator: OperatorProcess
) -> None:
    crs.create(sample("litemaas-cr"))
    crs.wait_ready(timeout=120)
    # Workloads became ready one by one: each a status-only wake, observed.
    assert _metric(operator, "litemaas_operator_watch_wakes", change="status") > 0
    assert _observations(operator) > 0
    whole, observed = _reconciles(operator), _observations(operator)

    # The backend's status says no pod is ready (as when its pod dies): reported, not acted on.
    ready_before = _backend_condition(crs)
    assert ready_before is not None and ready_before["status"] == "True"
    crs.apps.patch_namespaced_deployment_status(
        BACKEND,
        crs.namespace,
        {"status": {"readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 1}},
    )
    # The Deployment controller writes the true status back at once; the operator observed
    # at least one of the two, and the CR ends Ready again.
    wait_until(lambda: _observations(operator) > observed, 30, what="an observe-only pass")
    crs.wait_ready(timeout=60)
    assert _reconciles(operator) == whole, "a status-only change ran a whole reconcile"

    # A change of the Deployment's spec is drift: a whole reconcile puts it back.
    crs.apps.patch_namespaced_deployment(BACKEND, crs.namespace, {"spec": {"replicas": 3}})
    wait_until(lambda: crs.deployment(BACKEND).spec.replicas == 1, 30, what="replicas reset")
    assert _reconciles(operator) > whole
    assert _metric(operator, "litemaas_operator_watch_wakes", change="object") > 0
    assert "Traceback" not in operator.logs()
