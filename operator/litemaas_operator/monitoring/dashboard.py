"""The Grafana dashboard of the operator: instances, reconciles, backups and volumes.

Shipped as a ConfigMap labelled ``grafana_dashboard: "1"`` (the label Grafana's dashboard
sidecar and the Grafana Operator's examples look for) and as docs/dashboards/litemaas-operator.json
for an import by hand. Every panel's expression passes promtool (tests/unit/test_alerts.py,
with the dashboard's variables replaced).
"""

from __future__ import annotations

import json
from typing import Any

from .rules import BACKUP_FAILED, JOB, VOLUME_USAGE

UID = "litemaas-operator"
TITLE = "LiteMaaS operator"
M = "litemaas_operator_"
SEL = 'namespace=~"$namespace"'
# (row title, [(panel title, type, unit, [(expr, legend)], width)])
Panel = tuple[str, str, str, list[tuple[str, str]], int]
ROWS: list[tuple[str, list[Panel]]] = [
    (
        "Instances",
        [
            ("Operator up", "stat", "none", [(f'sum(up{{job="{JOB}"}})', "targets up")], 4),
            ("Instances", "stat", "none", [(f"count({M}instance_ready{{{SEL}}})", "")], 4),
            ("Ready", "stat", "none", [(f"sum({M}instance_ready{{{SEL}}})", "")], 4),
            ("Stalled", "stat", "none", [(f"sum({M}instance_stalled{{{SEL}}})", "")], 4),
            (
                "Instances by phase",
                "timeseries",
                "none",
                [(f"sum by (phase) ({M}instance_phase{{{SEL}}})", "{{phase}}")],
                8,
            ),
            (
                "Phase and version of each instance",
                "table",
                "none",
                [
                    (f"{M}instance_phase{{{SEL}}} == 1", "{{namespace}}/{{name}} {{phase}}"),
                    (f"{M}instance_info{{{SEL}}}", "{{namespace}}/{{name}} {{version}}"),
                ],
                12,
            ),
            (
                "Stalled instances and why",
                "table",
                "none",
                [(f"{M}instance_stalled{{{SEL}}} == 1", "{{namespace}}/{{name}}: {{reason}}")],
                12,
            ),
        ],
    ),
    (
        "Reconciles",
        [
            (
                "Reconciles by result",
                "timeseries",
                "ops",
                [(f"sum by (result) (rate({M}reconciles_total[$__rate_interval]))", "{{result}}")],
                8,
            ),
            (
                "Reconcile duration",
                "timeseries",
                "s",
                [
                    (
                        f"histogram_quantile({q}, sum by (le) "
                        f"(rate({M}reconcile_duration_seconds_bucket[$__rate_interval])))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, 0.95)
                ],
                8,
            ),
            (
                "Reconcile errors by instance",
                "timeseries",
                "ops",
                [
                    (
                        f"sum by (namespace, name) "
                        f"(rate({M}instance_reconcile_errors_total{{{SEL}}}[$__rate_interval]))",
                        "{{namespace}}/{{name}}",
                    )
                ],
                8,
            ),
            (
                "Time since the last successful reconcile",
                "timeseries",
                "s",
                [
                    (
                        f"time() - {M}instance_last_successful_reconcile_timestamp_seconds"
                        f"{{{SEL}}}",
                        "{{namespace}}/{{name}}",
                    )
                ],
                12,
            ),
            (
                "Applies by kind",
                "timeseries",
                "ops",
                [(f"sum by (kind) (rate({M}applies_total[$__rate_interval]))", "{{kind}}")],
                12,
            ),
        ],
    ),
    (
        "Backups and volumes",
        [
            (
                "Age of the last good backup",
                "timeseries",
                "s",
                [
                    (
                        f"time() - {M}backup_last_success_timestamp_seconds{{{SEL}}}",
                        "{{namespace}}/{{name}}",
                    )
                ],
                8,
            ),
            (
                "Backup age in schedule intervals (alert at 2)",
                "timeseries",
                "none",
                [
                    (
                        f"(time() - {M}backup_last_success_timestamp_seconds{{{SEL}}})"
                        f" / {M}backup_schedule_interval_seconds{{{SEL}}}",
                        "{{namespace}}/{{name}}",
                    )
                ],
                8,
            ),
            (
                "Instances whose last backup failed",
                "table",
                "dateTimeAsIso",
                [(f"1000 * ({BACKUP_FAILED})", "{{namespace}}/{{name}}")],
                8,
            ),
            (
                "PostgreSQL volume usage",
                "timeseries",
                "percentunit",
                [(VOLUME_USAGE, "{{namespace}}/{{name}} {{persistentvolumeclaim}}")],
                24,
            ),
        ],
    ),
]


def panel_expressions() -> list[tuple[str, str]]:
    """(panel title, expression) of every query of the dashboard."""
    return [
        (title, expr)
        for _row, panels in ROWS
        for title, *_r, queries, _w in panels
        for expr, _legend in queries
    ]


def _panel(pid: int, x: int, y: int, panel: Panel) -> dict[str, Any]:
    title, kind, unit, queries, width = panel
    height = 4 if kind == "stat" else 8
    out: dict[str, Any] = {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "expr": expr,
                "legendFormat": legend,
                **({"instant": True, "format": "table"} if kind == "table" else {}),
            }
            for i, (expr, legend) in enumerate(queries)
        ],
    }
    return out


def dashboard() -> dict[str, Any]:
    """The dashboard's JSON model."""
    panels: list[dict[str, Any]] = []
    pid, y = 1, 0
    for row, row_panels in ROWS:
        panels.append(
            {
                "id": pid,
                "type": "row",
                "title": row,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        pid, y, x, row_height = pid + 1, y + 1, 0, 0
        for panel in row_panels:
            width = panel[4]
            if x + width > 24:
                x, y, row_height = 0, y + row_height, 0
            built = _panel(pid, x, y, panel)
            panels.append(built)
            row_height = max(row_height, built["gridPos"]["h"])
            pid, x = pid + 1, x + width
        y += row_height
    return {
        "uid": UID,
        "title": TITLE,
        "description": "LiteMaaS instances, the operator's reconciles, backups and volumes.",
        "tags": ["litemaas", "operator"],
        "timezone": "utc",
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                },
                {
                    "name": "namespace",
                    "label": "Namespace",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": {
                        "query": f"label_values({M}instance_ready, namespace)",
                        "refId": "namespaces",
                    },
                    "definition": f"label_values({M}instance_ready, namespace)",
                    "includeAll": True,
                    "allValue": ".*",
                    "multi": True,
                    "current": {},
                    "refresh": 2,
                    "hide": 0,
                },
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def dashboard_json() -> str:
    """The dashboard as the file Grafana imports."""
    return json.dumps(dashboard(), indent=2) + "\n"


def config_map(name: str, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    """The dashboard in a ConfigMap that Grafana's dashboard sidecar picks up."""
    meta: dict[str, Any] = {"name": name, "labels": {**labels, "grafana_dashboard": "1"}}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {"litemaas-operator.json": dashboard_json()},
    }
