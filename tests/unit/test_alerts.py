"""The alerts and the dashboard, checked and unit-tested by promtool itself.

``promtool check rules`` parses and lints the rules file every install ships; ``promtool test
rules`` feeds each alert series and asserts that it fires when it should (with its labels and
rendered annotations) and stays silent when it should not. Every dashboard expression is
wrapped in a recording rule and parsed by promtool too.

Needs promtool from ``hack/tools.sh promtool`` (make setup builds it; the tests fail without).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from litemaas_operator.monitoring import dashboard, rules

REPO = Path(__file__).resolve().parents[2]
JOB = {"job": "litemaas-operator"}
A = {"namespace": "team", "name": "a"}
M = "litemaas_operator_"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = subprocess.run(
        [str(REPO / "hack/tools.sh"), "path", "promtool"], capture_output=True, text=True
    )
    if found.returncode != 0:
        pytest.fail("promtool is not built: run `hack/tools.sh promtool` (make setup does)")
    return found.stdout.strip()


def run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


ALERTS = {a.name: a for a in rules.ALERTS}


def annotations(alert: str, labels: dict[str, str], value: float | None = None) -> dict[str, str]:
    """The alert's annotations as Prometheus renders them for ``labels`` (and ``$value``)."""
    out = {}
    for key, text in ALERTS[alert].rule()["annotations"].items():
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)
        if value is not None:
            text = text.replace("{{ $value | humanizePercentage }}", f"{value * 100:g}%")
        out[key] = text
    return out


def fires(
    alert: str, at: str, *labelsets: dict[str, str], value: float | None = None
) -> dict[str, Any]:
    """Expect ``alert`` firing at ``at``, once for each label set (and for nothing else)."""
    return {
        "eval_time": at,
        "alertname": alert,
        "exp_alerts": [
            {
                "exp_labels": {**labels, "severity": ALERTS[alert].severity},
                "exp_annotations": annotations(alert, labels, value),
            }
            for labels in labelsets
        ],
    }


def silent(alert: str, at: str) -> dict:
    return {"eval_time": at, "alertname": alert, "exp_alerts": []}


# Each test case: (interval, input series, expectations). One "fires" and at least one
# "silent" per alert.
CASES: list[tuple[str, list[dict[str, str]], list[dict[str, Any]]]] = [
    # Not Ready for 10 minutes: fires at 11m, not at 9m; a short dip never fires.
    (
        "1m",
        [
            series(f"{M}instance_ready", {**JOB, **A}, "0x20"),
            series(f"{M}instance_ready", {**JOB, "namespace": "team", "name": "dip"}, "0x8 1x12"),
            series(f"{M}instance_ready", {**JOB, "namespace": "team", "name": "ok"}, "1x20"),
        ],
        [
            silent("LiteMaaSInstanceNotReady", "9m"),
            fires("LiteMaaSInstanceNotReady", "11m", {**JOB, **A}),
            fires("LiteMaaSInstanceNotReady", "15m", {**JOB, **A}),
        ],
    ),
    # Stalled for 5 minutes, with its reason in the labels and the summary.
    (
        "1m",
        [
            series(f"{M}instance_stalled", {**JOB, **A, "reason": "InvalidCredential"}, "1x10"),
            series(
                f"{M}instance_stalled",
                {**JOB, "namespace": "t", "name": "ok", "reason": ""},
                "0x10",
            ),
        ],
        [
            silent("LiteMaaSInstanceStalled", "4m"),
            fires("LiteMaaSInstanceStalled", "6m", {**JOB, **A, "reason": "InvalidCredential"}),
        ],
    ),
    (
        "1m",
        [series(f"{M}instance_stalled", {**JOB, **A, "reason": "ImagePullFailed"}, "1x3 0x10")],
        [silent("LiteMaaSInstanceStalled", "8m")],
    ),
    # Reconcile errors rising for 10 minutes; a counter that stopped, or one blip, is silent.
    (
        "1m",
        [series(f"{M}instance_reconcile_errors_total", {**JOB, **A}, "0+1x30")],
        [
            silent("LiteMaaSReconcileErrors", "8m"),
            fires("LiteMaaSReconcileErrors", "15m", {**JOB, **A}),
        ],
    ),
    (
        "1m",
        [
            series(f"{M}instance_reconcile_errors_total", {**JOB, **A}, "7x30"),
            series(
                f"{M}instance_reconcile_errors_total",
                {**JOB, "namespace": "t", "name": "b"},
                "0 1x29",
            ),
        ],
        [silent("LiteMaaSReconcileErrors", "15m"), silent("LiteMaaSReconcileErrors", "25m")],
    ),
    # The operator's targets are down (nothing scraped, so no leader) for 5 minutes.
    (
        "1m",
        [
            series("up", {**JOB, "instance": "10.0.0.1:8081"}, "0x10"),
            series("up", {**JOB, "instance": "10.0.0.3:8081"}, "0x10"),
        ],
        [silent("LiteMaaSOperatorDown", "4m"), fires("LiteMaaSOperatorDown", "6m", {})],
    ),
    # ... or its target is not there at all (no Service, no ServiceMonitor, wrong labels).
    (
        "1m",
        [series("up", {"job": "kubelet", "instance": "10.0.0.2:10250"}, "1x10")],
        [silent("LiteMaaSOperatorDown", "4m"), fires("LiteMaaSOperatorDown", "6m", {})],
    ),
    # ... or both replicas run and neither holds the Lease (e.g. it cannot be written).
    (
        "1m",
        [
            series(f"{M}leader", {**JOB, "instance": "10.0.0.1:8081"}, "0x10"),
            series(f"{M}leader", {**JOB, "instance": "10.0.0.3:8081"}, "0x10"),
        ],
        [silent("LiteMaaSOperatorDown", "4m"), fires("LiteMaaSOperatorDown", "6m", {})],
    ),
    # One replica leads: silent, also while the other one is down.
    (
        "1m",
        [
            series("up", {**JOB, "instance": "10.0.0.1:8081"}, "1x10"),
            series(f"{M}leader", {**JOB, "instance": "10.0.0.1:8081"}, "1x10"),
            series("up", {**JOB, "instance": "10.0.0.3:8081"}, "0x10"),
        ],
        [silent("LiteMaaSOperatorDown", "10m")],
    ),
    # A failover: the leader dies, the standby leads 15 s later.
    (
        "15s",
        [
            series(f"{M}leader", {**JOB, "instance": "10.0.0.1:8081"}, "1x8 _x32"),
            series(f"{M}leader", {**JOB, "instance": "10.0.0.3:8081"}, "0x9 1x31"),
        ],
        [silent("LiteMaaSOperatorDown", "10m")],
    ),
    # The loop's next reconcile was due at 60 s and never came: overdue after 360 s, firing
    # 5 minutes later. A loop that keeps reconciling is never overdue.
    (
        "1m",
        [
            series(f"{M}instance_next_reconcile_timestamp_seconds", {**JOB, **A}, "60x20"),
            series(
                f"{M}instance_next_reconcile_timestamp_seconds",
                {**JOB, "namespace": "t", "name": "ok"},
                "300+60x20",
            ),
        ],
        [
            silent("LiteMaaSOperatorNotReconciling", "10m"),
            fires("LiteMaaSOperatorNotReconciling", "13m", {**JOB, **A}),
        ],
    ),
    # The latest backup failed (after a success, or with none ever); a later success clears it.
    (
        "1m",
        [
            series(f"{M}backup_last_success_timestamp_seconds", {**JOB, **A}, "100x4 500x4"),
            series(f"{M}backup_last_failure_timestamp_seconds", {**JOB, **A}, "200x8"),
            series(
                f"{M}backup_last_failure_timestamp_seconds",
                {**JOB, "namespace": "t", "name": "never"},
                "300x8",
            ),
        ],
        [
            fires(
                "LiteMaaSBackupFailed",
                "2m",
                {**JOB, **A},
                {**JOB, "namespace": "t", "name": "never"},
            ),
            fires("LiteMaaSBackupFailed", "7m", {**JOB, "namespace": "t", "name": "never"}),
        ],
    ),
    (
        "1m",
        [
            series(f"{M}backup_last_success_timestamp_seconds", {**JOB, **A}, "500x4"),
            series(f"{M}backup_last_failure_timestamp_seconds", {**JOB, **A}, "200x4"),
            series(
                f"{M}backup_last_success_timestamp_seconds",
                {**JOB, "namespace": "t", "name": "b"},
                "9x4",
            ),
        ],
        [silent("LiteMaaSBackupFailed", "3m")],
    ),
    # A daily schedule (86400 s): the last good backup at 0 s is too old after 48 h, not
    # before; an instance never backed up counts from its creation; one backed up daily is fine.
    (
        "1h",
        [
            series(f"{M}backup_schedule_interval_seconds", {**JOB, **A}, "86400x60"),
            series(f"{M}backup_last_success_timestamp_seconds", {**JOB, **A}, "0x60"),
            series(f"{M}instance_created_timestamp_seconds", {**JOB, **A}, "0x60"),
            series(
                f"{M}backup_schedule_interval_seconds",
                {**JOB, "namespace": "t", "name": "n"},
                "86400x60",
            ),
            series(
                f"{M}instance_created_timestamp_seconds",
                {**JOB, "namespace": "t", "name": "n"},
                "3600x60",
            ),
            series(
                f"{M}backup_schedule_interval_seconds",
                {**JOB, "namespace": "t", "name": "d"},
                "86400x60",
            ),
            series(
                f"{M}backup_last_success_timestamp_seconds",
                {**JOB, "namespace": "t", "name": "d"},
                "0x23 86400x24 172800x13",
            ),
            series(
                f"{M}instance_created_timestamp_seconds",
                {**JOB, "namespace": "t", "name": "d"},
                "0x60",
            ),
        ],
        [
            silent("LiteMaaSBackupTooOld", "47h"),
            fires("LiteMaaSBackupTooOld", "49h", {**JOB, **A}),
            # the one never backed up, created at 1 h: too old after 49 h
            fires(
                "LiteMaaSBackupTooOld", "50h", {**JOB, **A}, {**JOB, "namespace": "t", "name": "n"}
            ),
            silent("LiteMaaSBackupTooOld", "48h"),
        ],
    ),
    (
        "1h",
        [
            series(
                f"{M}backup_schedule_interval_seconds",
                {**JOB, "namespace": "t", "name": "n"},
                "86400x60",
            ),
            series(
                f"{M}instance_created_timestamp_seconds",
                {**JOB, "namespace": "t", "name": "n"},
                "36000x60",
            ),
            series(f"{M}backup_last_success_timestamp_seconds", {**JOB, **A}, "0x60"),
        ],
        [
            silent("LiteMaaSBackupTooOld", "57h"),
            fires("LiteMaaSBackupTooOld", "59h", {**JOB, "namespace": "t", "name": "n"}),
        ],
    ),
    # The PostgreSQL claim of an instance over 80 % for 5 minutes; another claim is not ours.
    (
        "1m",
        [
            series(
                "kubelet_volume_stats_used_bytes",
                {
                    "job": "kubelet",
                    "namespace": "team",
                    "persistentvolumeclaim": "data-a-postgres-0",
                },
                "85x10",
            ),
            series(
                "kubelet_volume_stats_capacity_bytes",
                {
                    "job": "kubelet",
                    "namespace": "team",
                    "persistentvolumeclaim": "data-a-postgres-0",
                },
                "100x10",
            ),
            series(
                "kubelet_volume_stats_used_bytes",
                {"job": "kubelet", "namespace": "team", "persistentvolumeclaim": "other"},
                "99x10",
            ),
            series(
                "kubelet_volume_stats_capacity_bytes",
                {"job": "kubelet", "namespace": "team", "persistentvolumeclaim": "other"},
                "100x10",
            ),
            series(
                f"{M}instance_volume_info",
                {**JOB, **A, "persistentvolumeclaim": "data-a-postgres-0", "volume": "database"},
                "1x10",
            ),
        ],
        [
            silent("LiteMaaSDatabaseVolumeFull", "4m"),
            fires(
                "LiteMaaSDatabaseVolumeFull",
                "6m",
                {"job": "kubelet", **A, "persistentvolumeclaim": "data-a-postgres-0"},
                value=0.85,
            ),
        ],
    ),
    (
        "1m",
        [
            series(
                "kubelet_volume_stats_used_bytes",
                {
                    "job": "kubelet",
                    "namespace": "team",
                    "persistentvolumeclaim": "data-a-postgres-0",
                },
                "70x10",
            ),
            series(
                "kubelet_volume_stats_capacity_bytes",
                {
                    "job": "kubelet",
                    "namespace": "team",
                    "persistentvolumeclaim": "data-a-postgres-0",
                },
                "100x10",
            ),
            series(
                f"{M}instance_volume_info",
                {**JOB, **A, "persistentvolumeclaim": "data-a-postgres-0", "volume": "database"},
                "1x10",
            ),
        ],
        [silent("LiteMaaSDatabaseVolumeFull", "9m")],
    ),
]


def test_every_alert_is_tested_firing_and_silent() -> None:
    firing = {e["alertname"] for _i, _s, exps in CASES for e in exps if e["exp_alerts"]}
    quiet = {e["alertname"] for _i, _s, exps in CASES for e in exps if not e["exp_alerts"]}
    assert firing == quiet == set(ALERTS)


def test_every_alert_links_a_runbook_that_exists() -> None:
    for alert in rules.ALERTS:
        assert alert.runbook_url == f"{rules.RUNBOOKS}/{alert.name}.md"
        runbook = REPO / "docs/runbooks" / f"{alert.name}.md"
        assert runbook.is_file(), runbook
        assert alert.name in runbook.read_text()


def test_the_shipped_rules_are_the_generated_ones() -> None:
    shipped = yaml.safe_load((REPO / "manifests/monitoring/prometheusrule.yaml").read_text())
    assert shipped["spec"]["groups"] == rules.rule_groups()
    chart = yaml.safe_load((REPO / "charts/operator/files/prometheus-rules.yaml").read_text())
    assert chart == rules.rules_file()


def test_promtool_checks_the_rules(promtool: str, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules.rules_file()))
    done = run(promtool, "check", "rules", "rules.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules.ALERTS)} rules found" in done.stdout


def test_each_alert_fires_when_it_should_and_only_then(promtool: str, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules.rules_file()))
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {"interval": interval, "input_series": inputs, "alert_rule_test": expectations}
            for interval, inputs, expectations in CASES
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = run(promtool, "test", "rules", "tests.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_a_wrong_expectation_fails_promtool(promtool: str, tmp_path: Path) -> None:
    """The harness above can fail: a case asserting a silent alert fires is caught."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules.rules_file()))
    case = {
        "interval": "1m",
        "input_series": [series(f"{M}instance_ready", {**JOB, **A}, "1x20")],
        "alert_rule_test": [fires("LiteMaaSInstanceNotReady", "15m", {**JOB, **A})],
    }
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [case]}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    assert run(promtool, "test", "rules", "tests.yaml", cwd=tmp_path).returncode != 0


DASHBOARD_VARIABLES = {"$namespace": ".*", "$__rate_interval": "5m"}


def test_every_dashboard_expression_passes_promtool(promtool: str, tmp_path: Path) -> None:
    exprs = dashboard.panel_expressions()
    assert len(exprs) >= 15
    recorded = []
    for i, (_title, expr) in enumerate(exprs):
        for var, value in DASHBOARD_VARIABLES.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, expr
        recorded.append({"record": f"dashboard:panel_{i}:expr", "expr": expr})
    (tmp_path / "dashboard.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recorded}]})
    )
    done = run(promtool, "check", "rules", "dashboard.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in done.stdout


def test_promtool_refuses_a_broken_expression(promtool: str, tmp_path: Path) -> None:
    broken = {"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum(rate(up[5m])"}]}]}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    assert run(promtool, "check", "rules", "broken.yaml", cwd=tmp_path).returncode != 0


def test_the_dashboard_ships_in_a_labelled_config_map_and_in_docs() -> None:
    cm = yaml.safe_load((REPO / "manifests/monitoring/dashboard.yaml").read_text())
    assert cm["kind"] == "ConfigMap"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["data"]["litemaas-operator.json"] == dashboard.dashboard_json()
    assert (REPO / "docs/dashboards/litemaas-operator.json").read_text() == (
        dashboard.dashboard_json()
    )
    model = dashboard.dashboard()
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids))
    for panel in model["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
