"""Monitoring against a real API server: the Prometheus Operator's CRDs accept what every
install path ships and what ``spec.monitoring`` renders; the operator creates the monitors
where the API is served and says why not elsewhere; its metrics follow each resource; and
the Events of each transition can be read back from the API server.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.waiting import wait_until
from litemaas_operator.api.spec import LiteMaaSSpec
from litemaas_operator.facts import Instance
from litemaas_operator.render import monitoring
from support.crs import CRs, sample
from support.install import tool
from support.prometheus import install_monitoring_crds

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]


def apply(cluster: Any, docs: list[dict[str, Any]], namespace: str) -> subprocess.CompletedProcess:
    """Server-side apply ``docs`` into ``namespace``, as kubectl would."""
    docs = [copy.deepcopy(d) for d in docs]
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
    return cluster.kubectl(
        "apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(docs), check=False
    )


def contains(live: Any, wanted: Any) -> bool:
    """Whether ``live`` holds everything of ``wanted`` (the API server adds its defaults)."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(contains(live.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(live) == len(wanted)
            and all(contains(a, b) for a, b in zip(live, wanted, strict=True))
        )
    return live == wanted


def shipped() -> list[dict[str, Any]]:
    """The operator's monitoring objects of the kustomize and OLM install paths."""
    docs = []
    for rel in ("servicemonitor.yaml", "prometheusrule.yaml", "dashboard.yaml"):
        docs += list(yaml.safe_load_all((ROOT / "manifests/monitoring" / rel).read_text()))
    docs += list(yaml.safe_load_all((ROOT / "manifests/metrics-service.yaml").read_text()))
    for path in sorted((ROOT / "bundle/manifests").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc["kind"] in ("ServiceMonitor", "PrometheusRule", "Service", "ConfigMap"):
            doc["metadata"]["name"] += "-olm"
            docs.append(doc)
    return docs


def helm_monitoring_docs(tmp_path: Path) -> list[dict[str, Any]]:
    helm = tool("helm")
    if helm is None:
        pytest.fail("helm is not built: run `hack/tools.sh helm` (make setup does)")
    out = subprocess.run(
        [
            str(helm),
            "template",
            "lm",
            str(ROOT / "charts/operator"),
            "--set",
            "monitoring.serviceMonitor.enabled=true,monitoring.prometheusRule.enabled=true,"
            "monitoring.grafanaDashboard.enabled=true,monitoring.serviceMonitor.labels.release=p",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    names = {"Service": "-metrics", "ConfigMap": "-dashboard"}
    chosen = [
        d
        for d in docs
        if d["kind"] in ("ServiceMonitor", "PrometheusRule")
        or d["metadata"]["name"].endswith(names.get(d["kind"], "\0"))
    ]
    for d in chosen:
        d["metadata"]["name"] += "-helm"
    return chosen


@pytest.fixture(scope="module")
def cluster(openshift_cluster: Any) -> Any:
    install_monitoring_crds(openshift_cluster)
    return openshift_cluster


def test_every_shipped_and_rendered_monitoring_object_is_accepted(
    cluster: Any, namespace: str, tmp_path: Path
) -> None:
    rendered = monitoring.build(
        LiteMaaSSpec.model_validate(
            {
                "monitoring": {"enabled": True, "litellm": True, "labels": {"team": "a"}},
                "networkPolicy": {"enabled": True},
            }
        ),
        Instance("lm", namespace),
        {monitoring.API},
        "openshift",
    )
    pod_monitors = monitoring.build(
        LiteMaaSSpec.model_validate({"monitoring": {"enabled": True, "kind": "PodMonitor"}}),
        Instance("lm2", namespace),
        {monitoring.API},
        "kubernetes",
    )
    helm = helm_monitoring_docs(tmp_path)
    assert {d["kind"] for d in helm} == {"ServiceMonitor", "PrometheusRule", "Service", "ConfigMap"}
    docs = shipped() + rendered + pod_monitors + helm
    done = apply(cluster, docs, namespace)
    assert done.returncode == 0, done.stderr
    for doc in docs:
        kind = doc["kind"].lower()
        got = cluster.kubectl("get", kind, doc["metadata"]["name"], "-n", namespace, "-o", "json")
        live = json.loads(got.stdout)
        field = "spec" if "spec" in doc else "data"
        assert contains(live[field], doc[field]), (doc["kind"], doc["metadata"]["name"])


def test_the_api_server_really_validates_them(cluster: Any, namespace: str) -> None:
    """A control: the CRDs' schemas are enforced, so the acceptance above means something."""
    bad = copy.deepcopy(shipped()[0])
    assert bad["kind"] == "ServiceMonitor"
    bad["spec"]["endpoints"][0]["interval"] = "30 seconds"
    done = apply(cluster, [bad], namespace)
    assert done.returncode != 0
    assert "interval" in done.stderr
    rule = copy.deepcopy(shipped()[1])
    rule["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    assert apply(cluster, [rule], namespace).returncode != 0


def events(crs: CRs, name: str) -> list[Any]:
    return [
        e
        for e in crs.core.list_namespaced_event(crs.namespace).items
        if e.involved_object.name == name and e.involved_object.kind == "LiteMaaS"
    ]


def metric_lines(text: str, name: str, instance: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith(name) and f'name="{instance}"' in ln]


def test_monitors_follow_the_spec_and_events_tell_each_transition(crs: CRs, operator: Any) -> None:
    """On a cluster that serves monitoring.coreos.com/v1."""
    crs.create_secret("lm-key", {"key": "not-a-litellm-key-0123456789"})
    body = sample("litemaas-cr")
    body["spec"]["monitoring"] = {"enabled": True, "labels": {"release": "prom"}}
    body["spec"]["secrets"] = {"litellmMasterKey": {"name": "lm-key", "key": "key"}}
    crs.create(body)
    # Stalled with the reason (a user Secret's value the operator refuses; never the value).
    stalled = crs.wait_condition("litemaas", "Stalled", "True", timeout=60)
    assert stalled["reason"] == "InvalidCredential"
    got = wait_until(
        lambda: (
            {e.reason: e for e in events(crs, "litemaas")}.keys() >= {"Created", "Stalled"}
            and {e.reason: e for e in events(crs, "litemaas")}
        ),
        30,
        what="Created and Stalled Events",
    )
    assert got["Stalled"].type == "Warning"
    assert got["Stalled"].message.startswith("InvalidCredential: ")
    assert "not-a-litellm-key" not in got["Stalled"].message
    assert got["Created"].type == "Normal" and "0.5.0" in got["Created"].message
    text = wait_until(
        lambda: (
            metric_lines(operator.metrics(), "litemaas_operator_instance_stalled", "litemaas")
            and operator.metrics()
        ),
        30,
        what="the stalled series",
    )
    (line,) = metric_lines(text, "litemaas_operator_instance_stalled", "litemaas")
    assert 'reason="InvalidCredential"' in line and line.endswith(" 1.0")
    # The monitor is there, with the user's labels, while the instance is stalled.
    mon = wait_until(
        lambda: crs.custom.get_namespaced_custom_object(
            "monitoring.coreos.com", "v1", crs.namespace, "servicemonitors", "litemaas-backend"
        ),
        60,
        what="ServiceMonitor litemaas-backend",
    )
    assert mon["metadata"]["labels"]["release"] == "prom"
    assert mon["spec"]["endpoints"][0]["path"] == "/api/v1/health/metrics"
    cond = crs.wait_condition("litemaas", "Monitoring", "True", timeout=30)
    assert cond["reason"] == "ServiceMonitorCreated"

    # Recovered: the Secret is corrected, the instance becomes Ready, and says so.
    crs.core.patch_namespaced_secret(
        "lm-key", crs.namespace, {"stringData": {"key": "sk-a-good-litellm-key-0123456789"}}
    )
    crs.wait_ready(timeout=120)
    recovered = wait_until(
        lambda: [e for e in events(crs, "litemaas") if e.reason == "Recovered"],
        30,
        what="a Recovered Event",
    )
    assert recovered[0].type == "Normal" and "Stalled" in recovered[0].message
    wait_until(
        lambda: any(
            ln.endswith(" 1.0")
            for ln in metric_lines(
                operator.metrics(), "litemaas_operator_instance_ready", "litemaas"
            )
        ),
        30,
        what="instance_ready 1",
    )
    # Each transition was announced once.
    reasons = [e.reason for e in events(crs, "litemaas")]
    assert reasons.count("Created") == 1 and reasons.count("Recovered") == 1

    # Monitoring off: the monitor is pruned and the condition goes.
    crs.patch_spec("litemaas", {"monitoring": {"enabled": False}})

    def pruned() -> bool:
        try:
            crs.custom.get_namespaced_custom_object(
                "monitoring.coreos.com", "v1", crs.namespace, "servicemonitors", "litemaas-backend"
            )
        except client.ApiException as err:
            return err.status == 404
        return False

    wait_until(pruned, 60, what="the ServiceMonitor pruned")
    wait_until(lambda: crs.condition("litemaas", "Monitoring") is None, 30, what="no condition")

    # The resource goes, and its series with it.
    crs.delete("litemaas")
    crs.wait_gone("litemaas", timeout=60)
    wait_until(
        lambda: not re.search(r'name="litemaas",namespace=', operator.metrics()),
        30,
        what="the resource's series gone",
    )


def test_without_the_monitoring_api_the_condition_says_why(
    kubernetes_cluster: Any, tmp_path: Path
) -> None:
    """On the plain cluster, which does not serve monitoring.coreos.com/v1."""
    from support.crs import install_crd
    from support.operator import OperatorProcess

    cluster = kubernetes_cluster
    served = cluster.kubectl("api-versions").stdout.split()
    assert monitoring.API not in served
    install_crd(cluster)
    namespace = f"t-monitoring-absent-{tmp_path.name[-6:].lower().replace('_', '-')}"
    cluster.kubectl("create", "namespace", namespace)
    wait_until(
        lambda: (
            cluster.kubectl("get", "sa", "default", "-n", namespace, check=False).returncode == 0
        ),
        30,
        what="default ServiceAccount",
    )
    proc = OperatorProcess(cluster.kubeconfig, [namespace]).start()
    crs = CRs(cluster, namespace)
    try:
        crs.create_secret("litemaas-oidc", {"client-secret": "oidc-client-secret-value-1234"})
        body = sample("litemaas-kubernetes")
        body["spec"]["monitoring"] = {"enabled": True}
        crs.create(body)
        cond = crs.wait_condition(body["metadata"]["name"], "Monitoring", "False", timeout=60)
        assert cond["reason"] == "MonitoringAPIUnavailable"
        assert "monitoring.coreos.com/v1" in cond["message"]
        # Nothing else changes: the instance still becomes Ready.
        crs.wait_ready(body["metadata"]["name"], timeout=120)
        crs.delete(body["metadata"]["name"])
        crs.wait_gone(body["metadata"]["name"], timeout=60)
    finally:
        proc.stop()
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def series_value(text: str, name: str, instance: str) -> float | None:
    lines = metric_lines(text, name + "{", instance)
    return float(lines[0].rsplit(" ", 1)[1]) if lines else None


def test_backups_show_as_metrics_and_a_completed_backup_as_an_event(
    crs: CRs, operator: Any
) -> None:
    """What the backup alerts read: status.backup and the schedule, through the metrics."""
    from support.backups import BACKUPS, Backups

    body = sample("litemaas-cr")
    body["spec"]["backup"] = {"schedule": "0 2 * * *"}
    crs.create(body)
    crs.wait_ready()
    text = operator.metrics()
    assert series_value(text, "litemaas_operator_backup_schedule_interval_seconds", "litemaas") == (
        86400
    )
    assert (
        series_value(text, "litemaas_operator_backup_last_success_timestamp_seconds", "litemaas")
        is None
    )
    claim = [
        ln for ln in text.splitlines() if ln.startswith("litemaas_operator_instance_volume_info")
    ]
    assert any('persistentvolumeclaim="data-litemaas-postgres-0"' in ln for ln in claim)

    backups = Backups(crs)
    try:
        backups.backup("manual-1")
        backups.wait_phase(BACKUPS, "manual-1", "Completed", timeout=60)
        done = wait_until(
            lambda: [e for e in events(crs, "litemaas") if e.reason == "BackupCompleted"],
            60,
            what="a BackupCompleted Event on the LiteMaaS resource",
        )
        assert done[0].type == "Normal" and "manual-1" in done[0].message
        # The Event may come before the status write that records the same transition.
        when = wait_until(
            lambda: ((crs.get()["status"].get("backup") or {}).get("lastSuccessful") or {}).get(
                "time"
            ),
            30,
            what="status.backup.lastSuccessful",
        )
        expected = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
        wait_until(
            lambda: (
                series_value(
                    operator.metrics(),
                    "litemaas_operator_backup_last_success_timestamp_seconds",
                    "litemaas",
                )
                == expected
            ),
            30,
            what="the last success time exported",
        )
    finally:
        backups.remove_all()
