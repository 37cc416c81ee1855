"""spec.monitoring, the per-instance metrics and the transition Events: pure parts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from litemaas_operator.api.spec import LiteMaaSSpec
from litemaas_operator.controller import logs, metrics, observability
from litemaas_operator.controller.conditions import ComponentState, Observation, compute_status
from litemaas_operator.controller.failures import failure_status
from litemaas_operator.facts import Instance
from litemaas_operator.monitoring import install as monitoring_install
from litemaas_operator.render import monitoring
from litemaas_operator.render.endpoints import Problem

INST = Instance("lm", "team")
REPO = Path(__file__).resolve().parents[2]
API = {"monitoring.coreos.com/v1", "v1"}


def spec(**monitoring_spec: Any) -> LiteMaaSSpec:
    return LiteMaaSSpec.model_validate({"monitoring": monitoring_spec})


# ---- render --------------------------------------------------------------------------------


def test_monitoring_is_off_by_default() -> None:
    assert monitoring.build(LiteMaaSSpec(), INST, API, "openshift") == []
    assert monitoring.condition_state(LiteMaaSSpec(), set()) is None


def test_a_service_monitor_scrapes_the_backend_metrics_path_with_the_users_labels() -> None:
    objs = monitoring.build(spec(enabled=True, labels={"release": "prom"}), INST, API, "kubernetes")
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [("ServiceMonitor", "lm-backend")]
    mon = objs[0]
    assert mon["apiVersion"] == "monitoring.coreos.com/v1"
    assert mon["metadata"]["namespace"] == "team"
    assert mon["metadata"]["labels"]["release"] == "prom"
    assert mon["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "litemaas-operator"
    assert mon["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "litemaas",
        "app.kubernetes.io/instance": "lm",
        "app.kubernetes.io/component": "api",
    }
    assert mon["spec"]["namespaceSelector"] == {"matchNames": ["team"]}
    assert mon["spec"]["endpoints"] == [
        {"port": "http", "path": "/api/v1/health/metrics", "interval": "30s", "scheme": "http"}
    ]


def test_litellm_is_scraped_only_when_asked_and_pod_monitors_on_request() -> None:
    objs = monitoring.build(
        spec(enabled=True, kind="PodMonitor", litellm=True, interval="1m"), INST, API, None
    )
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("PodMonitor", "lm-backend"),
        ("PodMonitor", "lm-litellm"),
    ]
    litellm = objs[1]["spec"]
    assert litellm["podMetricsEndpoints"][0]["path"] == "/metrics"
    assert litellm["selector"]["matchLabels"]["app.kubernetes.io/component"] == "ai-proxy"
    assert litellm["podMetricsEndpoints"][0]["interval"] == "1m"


def test_nothing_is_rendered_where_the_monitoring_api_is_not_served() -> None:
    assert monitoring.build(spec(enabled=True), INST, {"v1", "apps/v1"}, "kubernetes") == []
    ok, reason, message = monitoring.condition_state(spec(enabled=True), {"v1"}) or (None,) * 3
    assert (ok, reason) == (False, "MonitoringAPIUnavailable")
    assert "monitoring.coreos.com/v1" in message and "ServiceMonitor" in message


def test_under_a_lockdown_prometheus_namespace_is_admitted_to_the_metrics_ports() -> None:
    body = {"monitoring": {"enabled": True, "litellm": True}, "networkPolicy": {"enabled": True}}
    objs = monitoring.build(LiteMaaSSpec.model_validate(body), INST, API, "openshift")
    policy = next(o for o in objs if o["kind"] == "NetworkPolicy")
    assert policy["metadata"]["name"] == "lm-allow-metrics"
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "monitoring"}}}
    ]
    assert {p["port"] for p in rule["ports"]} == {8080, 4000}
    assert policy["spec"]["podSelector"]["matchExpressions"][0]["values"] == ["api", "ai-proxy"]
    # Without the lockdown nothing blocks Prometheus: no extra policy.
    assert all(
        o["kind"] != "NetworkPolicy" for o in monitoring.build(spec(enabled=True), INST, API, None)
    )


@pytest.mark.parametrize(
    "bad",
    [{"interval": "30 seconds"}, {"kind": "Probe"}, {"enabled": "yes"}, {"labels": {"a": 1}}],
)
def test_invalid_monitoring_specs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        spec(**bad)


def test_the_monitoring_condition_is_added_only_when_enabled() -> None:
    status = {"observedGeneration": 3, "conditions": [{"type": "Ready", "status": "True"}]}
    assert observability.report(status, LiteMaaSSpec(), API, None) == status
    out = observability.report(status, spec(enabled=True), API, None)
    cond = out["conditions"][-1]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        "Monitoring",
        "True",
        "ServiceMonitorCreated",
    )
    assert cond["observedGeneration"] == 3
    # The transition time is kept while the status does not flip.
    again = observability.report(status, spec(enabled=True), API, out)
    assert again["conditions"][-1]["lastTransitionTime"] == cond["lastTransitionTime"]


# ---- metrics -------------------------------------------------------------------------------


def body(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "litemaas.io/v1alpha1",
        "kind": "LiteMaaS",
        "metadata": {
            "name": "lm",
            "namespace": "team",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {"backup": {"schedule": "0 2 * * *"}},
        "status": status,
    }


def cond(ctype: str, status: str, reason: str = "R", message: str = "") -> dict[str, str]:
    return {"type": ctype, "status": status, "reason": reason, "message": message}


STALLED = {
    "phase": "Stalled",
    "version": "0.5.0",
    "conditions": [
        cond("Ready", "False", "InvalidCredential"),
        cond("Stalled", "True", "InvalidCredential", "spec.secrets.litellmMasterKey: no sk-"),
    ],
    "backup": {
        "lastSuccessful": {"name": "lm-1", "time": "2026-01-02T02:00:00Z"},
        "lastFailed": {"name": "lm-2", "time": "2026-01-03T02:00:00Z"},
    },
}
STALLED_ONLY = {k: v for k, v in STALLED.items() if k != "backup"}
READY = {
    "phase": "Ready",
    "version": "0.5.0",
    "conditions": [cond("Ready", "True", "Ready"), cond("Stalled", "False", "NotStalled")],
}


def scrape(collector: metrics.InstanceMetrics) -> str:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_status_becomes_per_instance_series() -> None:
    collector = metrics.InstanceMetrics()
    collector.observe(body(), STALLED)
    collector.reconciled(("team", "lm"), ok=False, next_in=4, now=1000.0)
    text = scrape(collector)
    ns = 'name="lm",namespace="team"'  # labels in the exposition are sorted
    assert f"litemaas_operator_instance_ready{{{ns}}} 0.0" in text
    assert f'litemaas_operator_instance_stalled{{{ns},reason="InvalidCredential"}} 1.0' in text
    assert f'litemaas_operator_instance_phase{{{ns},phase="Stalled"}} 1.0' in text
    assert f'litemaas_operator_instance_phase{{{ns},phase="Ready"}} 0.0' in text
    assert f'litemaas_operator_instance_info{{{ns},version="0.5.0"}} 1.0' in text
    assert f"litemaas_operator_instance_reconcile_errors_total{{{ns}}} 1.0" in text
    assert f"litemaas_operator_instance_last_reconcile_timestamp_seconds{{{ns}}} 1000.0" in text
    assert f"litemaas_operator_instance_next_reconcile_timestamp_seconds{{{ns}}} 1004.0" in text
    assert "litemaas_operator_instance_last_successful_reconcile_timestamp_seconds{" not in text
    values = samples(text)
    lm = (("name", "lm"), ("namespace", "team"))
    assert values[("litemaas_operator_instance_created_timestamp_seconds", lm)] == (
        datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    )
    assert values[("litemaas_operator_backup_last_success_timestamp_seconds", lm)] == (
        datetime(2026, 1, 2, 2, tzinfo=UTC).timestamp()
    )
    assert values[("litemaas_operator_backup_last_failure_timestamp_seconds", lm)] == (
        datetime(2026, 1, 3, 2, tzinfo=UTC).timestamp()
    )
    assert (
        f'litemaas_operator_instance_volume_info{{{ns},persistentvolumeclaim="data-lm-postgres-0",'
        'volume="database"} 1.0'
    ) in text


def test_a_changed_label_value_replaces_its_series_and_a_gone_resource_takes_all() -> None:
    collector = metrics.InstanceMetrics()
    collector.observe(body(), STALLED)
    collector.observe(body(), READY)
    collector.reconciled(("team", "lm"), ok=True, next_in=300, now=50.0)
    text = scrape(collector)
    assert 'reason="InvalidCredential"' not in text
    assert 'litemaas_operator_instance_stalled{name="lm",namespace="team",reason=""} 0.0' in text
    assert (
        'litemaas_operator_instance_last_successful_reconcile_timestamp_seconds{name="lm",'
        'namespace="team"} 50.0'
    ) in text
    collector.forget(("team", "lm"))
    assert 'name="lm"' not in scrape(collector)


def test_series_per_resource_stay_bounded() -> None:
    collector = metrics.InstanceMetrics()
    for i in range(50):
        b = body()
        b["metadata"]["name"] = f"lm{i}"
        for status in (STALLED, READY, STALLED):
            collector.observe(b, status)
            collector.reconciled(("team", f"lm{i}"), ok=True, next_in=1)
    samples = [ln for ln in scrape(collector).splitlines() if ln and not ln.startswith("#")]
    per = len(samples) / 50
    assert per <= 20, per
    for i in range(50):
        collector.forget(("team", f"lm{i}"))
    assert not [ln for ln in scrape(collector).splitlines() if ln and not ln.startswith("#")]


def test_an_external_database_exports_no_volume_and_no_backup_interval() -> None:
    b = body()
    b["spec"] = {"database": {"mode": "external"}, "backup": {"schedule": "@daily"}}
    seen = metrics.observed(b, READY)
    assert seen.database_claim is None and seen.backup_interval is None


def test_a_scheduled_instance_exports_its_schedule_interval() -> None:
    collector = metrics.InstanceMetrics()
    collector.observe(body(), READY)
    values = samples(scrape(collector))
    lm = (("name", "lm"), ("namespace", "team"))
    assert values[("litemaas_operator_backup_schedule_interval_seconds", lm)] == 86400
    assert metrics.observed(body(), {}).backup_interval == 86400


@pytest.mark.parametrize(
    ("schedule", "gap"),
    [("@hourly", 3600), ("*/15 * * * *", 900), ("0 2 * * 1-5", 3 * 86400), ("nonsense", None)],
)
def test_the_schedule_interval_is_its_longest_gap(schedule: str, gap: float | None) -> None:
    assert metrics.schedule_interval(schedule, datetime(2026, 3, 4, tzinfo=UTC)) == gap


# ---- Events --------------------------------------------------------------------------------


def reasons(previous: dict | None, status: dict) -> list[tuple[str, str]]:
    return [(a.type, a.reason) for a in observability.transitions(previous, status, "0.5.0")]


def test_a_new_resource_is_announced_once() -> None:
    progressing = {"phase": "Progressing", "platform": "kubernetes", "conditions": []}
    (created,) = observability.transitions(None, progressing, "0.5.0")
    assert (created.type, created.reason) == ("Normal", "Created")
    assert created.message == "deploying LiteMaaS 0.5.0 on kubernetes"
    assert reasons(progressing, progressing) == []


def test_stalled_is_announced_with_its_reason_and_again_only_when_it_changes() -> None:
    (stalled,) = observability.transitions(READY, STALLED_ONLY, "0.5.0")
    assert (stalled.type, stalled.reason) == ("Warning", "Stalled")
    assert stalled.message == "InvalidCredential: spec.secrets.litellmMasterKey: no sk-"
    assert reasons(STALLED, STALLED) == []
    other = {**STALLED, "conditions": [cond("Stalled", "True", "ImagePullFailed", "x")]}
    assert reasons(STALLED, other) == [("Warning", "Stalled")]


def test_recovery_is_announced_from_stalled_degraded_or_failed_reconciles() -> None:
    assert reasons(STALLED, READY) == [("Normal", "Recovered")]
    assert reasons({**READY, "phase": "Degraded"}, READY) == [("Normal", "Recovered")]
    failed = failure_status(READY, 1, "API 500 Internal Server Error: boom", 1)
    assert reasons(failed, READY) == [("Normal", "Recovered")]
    assert reasons({**READY, "phase": "Progressing"}, READY) == []


def observation(ready: bool = True, invalid: bool = False) -> Observation:
    state = ComponentState(ready, "Ready" if ready else "Progressing", "", 1, int(ready))
    problems = [Problem("invalid", "litellm", "InvalidCredential", "no sk-")] if invalid else []
    components = ("database", "redis", "litellm", "backend", "frontend", "auth")
    return Observation(1, "0.5.0", None, dict.fromkeys(components, state), None, problems)


def cond_of(status: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == ctype)


def test_recovery_through_progressing_is_recovery_from_the_stall() -> None:
    """Stalled -> Progressing (pods roll after the fix) -> Ready: the stall is still seen.

    All within one second (what CI saw): transition times cannot order the steps, the
    Stalled condition's ``Resumed`` reason carries the stall through Progressing.
    """
    second = "2026-01-01T00:00:00Z"
    stalled = compute_status(observation(invalid=True), None)
    assert stalled["phase"] == "Stalled"
    rolling = compute_status(observation(ready=False), stalled)
    assert rolling["phase"] == "Progressing"
    assert cond_of(rolling, "Stalled")["reason"] == "Resumed"
    assert "InvalidCredential" in cond_of(rolling, "Stalled")["message"]
    still = compute_status(observation(ready=False), rolling)
    assert cond_of(still, "Stalled")["reason"] == "Resumed"  # carried until Ready
    for c in still["conditions"]:
        c["lastTransitionTime"] = second
    ready = compute_status(observation(ready=True), still)
    (event,) = observability.transitions(still, ready, "0.5.0")
    assert (event.reason, event.message) == ("Recovered", "Ready again after Stalled")
    assert cond_of(ready, "Stalled")["reason"] == "NotStalled"
    # A transient failure on the way back keeps the memory too.
    failed = failure_status(rolling, 1, "API 409 Conflict: x", 1)
    assert cond_of(failed, "Stalled")["reason"] == "Resumed"
    # A new resource coming up for the first time recovers nothing.
    fresh = compute_status(observation(ready=False), None)
    assert cond_of(fresh, "Stalled")["reason"] == "NotStalled"
    assert reasons(fresh, compute_status(observation(ready=True), fresh)) == []


def test_a_stall_from_failed_reconciles_is_left_to_the_reconcile_failed_event() -> None:
    stalled = failure_status(READY, 1, "API 500 Internal Server Error: boom", 3)
    assert stalled["phase"] == "Stalled"
    assert reasons(READY, stalled) == []


def test_a_new_successful_backup_is_announced() -> None:
    first = {**READY, "backup": {"lastSuccessful": {"name": "lm-1", "time": "T1"}}}
    second = {**READY, "backup": {"lastSuccessful": {"name": "lm-2", "time": "T2"}}}
    (done,) = observability.transitions(first, second, "0.5.0")
    assert (done.reason, done.message) == ("BackupCompleted", "backup lm-2 completed at T2")
    assert reasons(second, second) == []


def test_a_known_secret_value_never_reaches_an_event_message() -> None:
    logs.remember_secrets({"sk-very-secret-value-1234"})
    leaky = {
        **STALLED_ONLY,
        "conditions": [cond("Stalled", "True", "InvalidCredential", "sk-very-secret-value-1234")],
    }
    (event,) = observability.transitions(READY, leaky, "0.5.0")
    assert "sk-very-secret-value-1234" not in event.message
    assert event.message.startswith("InvalidCredential: ")


def test_the_metrics_service_selects_the_operator_pod() -> None:
    svc = yaml.safe_load((REPO / "manifests/metrics-service.yaml").read_text())
    deployment = yaml.safe_load((REPO / "manifests/deployment.yaml").read_text())
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    ports = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert {"name": "metrics", "containerPort": svc["spec"]["ports"][0]["port"]} in ports
    monitor = monitoring_install.service_monitor("x", None, svc["metadata"]["labels"])
    assert monitor["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
