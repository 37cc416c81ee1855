"""A real Prometheus scrapes the running operator with the shipped alerts loaded.

Prometheus (prometheus/prometheus cmd/prometheus, built by ``hack/tools.sh prometheus``) runs
on 127.0.0.1 with a static scrape config for the operator's metrics port, a one-second scrape
and evaluation interval, and a rendered test copy of the rules whose ``for:`` durations are one
second (the shipped ones wait minutes). A LiteMaaS resource made to stall (a user Secret whose
LiteLLM master key lacks ``sk-``) turns LiteMaaSInstanceStalled to firing, as
``/api/v1/alerts`` lists it; correcting the Secret resolves it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from harness.waiting import wait_until
from litemaas_operator.monitoring import rules
from support.crs import CRs, install_crd, sample
from support.operator import OperatorProcess
from support.prometheus import PrometheusServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
ALERT = "LiteMaaSInstanceStalled"


@pytest.fixture(scope="module")
def cluster(openshift_cluster: Any) -> Any:
    install_crd(openshift_cluster)
    return openshift_cluster


@pytest.fixture
def operator(cluster: Any, namespace: str) -> Iterator[OperatorProcess]:
    proc = OperatorProcess(cluster.kubeconfig, [namespace]).start()
    yield proc
    crs = CRs(cluster, namespace)
    if crs.get("litemaas") is not None:
        crs.delete("litemaas")
        crs.wait_gone("litemaas", timeout=60)
    proc.stop()


@pytest.fixture
def prometheus(operator: OperatorProcess) -> Iterator[PrometheusServer]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": rules.JOB,
                "honor_labels": True,  # as the ServiceMonitor's honorLabels
                "static_configs": [{"targets": [f"127.0.0.1:{operator.metrics_port}"]}],
            }
        ],
    }
    server = PrometheusServer(config, {"rules.yaml": rules.rules_file(for_override="1s")})
    server.start()
    yield server
    server.stop()


def firing(prom: PrometheusServer, namespace: str) -> list[dict[str, Any]]:
    return [
        a
        for a in prom.alerts(ALERT)
        if a["state"] == "firing" and a["labels"].get("namespace") == namespace
    ]


def test_a_stalled_resource_fires_the_alert_until_it_recovers(
    cluster: Any, namespace: str, operator: OperatorProcess, prometheus: PrometheusServer
) -> None:
    crs = CRs(cluster, namespace)
    # The rules loaded are the shipped ones (a test copy differs only in `for:`).
    loaded = prometheus.api("rules")["groups"]
    assert [r["name"] for g in loaded for r in g["rules"]] == [a.name for a in rules.ALERTS]
    # The operator is a healthy target.
    wait_until(
        lambda: any(t["health"] == "up" for t in prometheus.api("targets")["activeTargets"]),
        30,
        what="the operator's target up",
    )
    crs.create_secret("lm-key", {"key": "not-a-litellm-key-0123456789"})
    body = sample("litemaas-cr")
    body["spec"]["secrets"] = {"litellmMasterKey": {"name": "lm-key", "key": "key"}}
    crs.create(body)
    crs.wait_condition("litemaas", "Stalled", "True", timeout=60)
    started = time.monotonic()
    (alert,) = wait_until(lambda: firing(prometheus, namespace), 60, what=f"{ALERT} firing")
    fired_after = time.monotonic() - started
    assert alert["labels"]["name"] == "litemaas"
    assert alert["labels"]["reason"] == "InvalidCredential"
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["summary"] == (
        f"LiteMaaS {namespace}/litemaas is Stalled: InvalidCredential"
    )
    assert alert["annotations"]["runbook_url"].endswith(f"/docs/runbooks/{ALERT}.md")
    # What the operator exported and Prometheus stored, with the resource's own namespace.
    query = quote(f'litemaas_operator_instance_stalled{{namespace="{namespace}"}}')
    (sample_,) = prometheus.api(f"query?query={query}")["result"]
    assert sample_["metric"]["reason"] == "InvalidCredential" and sample_["value"][1] == "1"

    crs.core.patch_namespaced_secret(
        "lm-key", namespace, {"stringData": {"key": "sk-a-good-litellm-key-0123456789"}}
    )
    crs.wait_condition("litemaas", "Stalled", "False", timeout=60)
    wait_until(
        lambda: not [a for a in prometheus.alerts(ALERT) if a["labels"]["namespace"] == namespace],
        60,
        what=f"{ALERT} resolved",
    )
    print(f"{ALERT} fired {fired_after:.1f}s after Stalled was True")
