"""Operator settings: watch scope from the environment, liveness, metrics, JSON logs."""

from __future__ import annotations

import json
import re
import time
from urllib.request import urlopen

import pytest

from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="session")
def cluster(openshift_cluster):
    """The OpenShift flavour: the sample CR needs no extra Secret there."""
    return openshift_cluster


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = (
        rf"^{re.escape(name)}(\{{{re.escape(want)}\}})? ([0-9.e+-]+)$"
        if want
        else (rf"^{re.escape(name)} ([0-9.e+-]+)$")
    )
    for line in text.splitlines():
        match = re.match(pattern, line)
        if match:
            return float(match.groups()[-1])
    raise AssertionError(f"{name}{{{want}}} not in metrics")


def test_watch_namespace_env_liveness_metrics_and_json_logs(cluster, namespace, litemaas_crd):
    crs = CRs(cluster, namespace)
    other = f"{namespace[:50]}-x"
    crs.core.create_namespace({"metadata": {"name": other}})
    proc = OperatorProcess(
        cluster.kubeconfig,
        [],
        extra_env={"WATCH_NAMESPACE": namespace},
        log_format="json",
        verbose=False,
    )
    try:
        proc.start()
        crs.create(sample("litemaas-cr"))
        CRs(cluster, other).create(sample("litemaas-cr"))
        crs.wait_ready()
        time.sleep(2)
        # The API server defaults status.observedGeneration to 0; nothing else may be there.
        untouched = CRs(cluster, other).get()
        assert untouched.get("status") == {"observedGeneration": 0}, "a CR outside the scope"
        assert "litemaas.io/finalizer" not in untouched["metadata"].get("finalizers", [])

        with urlopen(f"http://127.0.0.1:{proc.health_port}/healthz", timeout=5) as resp:
            assert resp.status == 200
        text = proc.metrics()
        assert metric(text, "litemaas_operator_reconciles_total", result="success") >= 1
        assert metric(text, "litemaas_operator_applies_total", kind="Deployment") == 4
        assert metric(text, "litemaas_operator_instances") == 1
        assert metric(text, "litemaas_operator_ready_instances") == 1
        assert metric(text, "litemaas_operator_reconcile_duration_seconds_count") >= 1

        crs.delete()
        crs.wait_gone()
    finally:
        proc.stop()
        crs.core.delete_namespace(other)
    lines = [line for line in proc.logs().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    messages = " ".join(r.get("message", "") for r in records)
    assert "reconciled: applied" in messages and "cleaned up " in messages
    assert all({"timestamp", "severity", "message"} <= set(r) for r in records)
    # Lines about one CR name it, so logs can be filtered per resource.
    reconciled = [r for r in records if r["message"].startswith("reconciled:")]
    assert reconciled and all(r["object"]["name"] == "litemaas" for r in reconciled)
    assert all(r["object"]["namespace"] == namespace for r in reconciled)
