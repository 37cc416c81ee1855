"""The operator's own monitoring objects, for the three install paths of ``install/``.

- kustomize: the metrics Service in ``manifests/`` (always; it needs no CRD), and
  ``manifests/monitoring/`` (``kubectl apply -k``) with the ServiceMonitor, the PrometheusRule
  and the dashboard ConfigMap, for clusters that serve monitoring.coreos.com/v1.
- Helm: ``templates/monitoring.yaml`` and the ``monitoring`` values (the Service on, the rest
  opt-in); the rules and the dashboard are chart files, so Helm never parses their ``{{ }}``.
- OLM: the Service, ServiceMonitor, PrometheusRule and dashboard ConfigMap in the bundle's
  manifests/ (OLM creates them in the install namespace).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import dashboard, rules

SERVICE_SUFFIX = "-metrics"
DASHBOARD_SUFFIX = "-dashboard"
SCRAPE_INTERVAL = "30s"


def _meta(name: str, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def metrics_service(
    name: str, namespace: str | None, labels: dict[str, str], port: int
) -> dict[str, Any]:
    """A ClusterIP Service in front of the operator's metrics port (``labels`` select the pod)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(f"{name}{SERVICE_SUFFIX}", namespace, labels),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(labels),
            "ports": [
                {"name": "metrics", "port": port, "targetPort": "metrics", "protocol": "TCP"}
            ],
        },
    }


def service_monitor(name: str, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
    """The ServiceMonitor of the metrics Service.

    ``jobLabel``: the job is the Service's app.kubernetes.io/name (``litemaas-operator``), the
    job the alerts look for. ``honorLabels``: the per-instance series keep their own
    ``namespace`` label (the instance's), not the operator pod's.
    """
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta(name, namespace, labels),
        "spec": {
            "jobLabel": "app.kubernetes.io/name",
            "selector": {"matchLabels": dict(labels)},
            "endpoints": [
                {
                    "port": "metrics",
                    "path": "/metrics",
                    "interval": SCRAPE_INTERVAL,
                    "honorLabels": True,
                }
            ],
        },
    }


def kustomize_monitoring(
    name: str, namespace: str, labels: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """``manifests/monitoring/<file>``: documents of the optional monitoring kustomization."""
    return {
        "servicemonitor.yaml": [service_monitor(name, namespace, labels)],
        "prometheusrule.yaml": [rules.prometheus_rule(name, namespace, labels)],
        "dashboard.yaml": [dashboard.config_map(f"{name}{DASHBOARD_SUFFIX}", namespace, labels)],
    }


def olm_manifests(name: str, labels: dict[str, str], port: int) -> dict[str, dict[str, Any]]:
    """``bundle/manifests/<file>``: the monitoring objects OLM creates beside the CSV."""
    return {
        f"{name}{SERVICE_SUFFIX}_v1_service.yaml": metrics_service(name, None, labels, port),
        f"{name}_monitoring.coreos.com_v1_servicemonitor.yaml": service_monitor(name, None, labels),
        f"{name}_monitoring.coreos.com_v1_prometheusrule.yaml": rules.prometheus_rule(
            name, None, labels
        ),
        f"{name}{DASHBOARD_SUFFIX}_v1_configmap.yaml": dashboard.config_map(
            f"{name}{DASHBOARD_SUFFIX}", None, labels
        ),
    }


def helm_values() -> dict[str, Any]:
    """The chart's ``monitoring`` values."""
    return {
        "service": {"enabled": True},
        "serviceMonitor": {"enabled": False, "labels": {}, "interval": SCRAPE_INTERVAL},
        "prometheusRule": {"enabled": False, "labels": {}},
        "grafanaDashboard": {"enabled": False, "labels": {}},
    }


VALUES_COMMENT = (
    "The operator's metrics (port 8081): a Service (on), and, where the Prometheus Operator's "
    "monitoring.coreos.com/v1 is served, a ServiceMonitor and a PrometheusRule with the alerts "
    "of docs/monitoring.md (labels: to match your Prometheus' selectors), and a ConfigMap "
    'with the Grafana dashboard (label grafana_dashboard: "1").'
)

HELM_RULES_FILE = "files/prometheus-rules.yaml"
HELM_DASHBOARD_FILE = "files/grafana-dashboard.json"
_FULLNAME = '{{ include "litemaas-operator.fullname" . }}'
_LABELS = '{{- include "litemaas-operator.labels" . | nindent 4 }}'
_SELECTOR = '{{- include "litemaas-operator.selectorLabels" . | nindent '


def helm_template(header: str, port: int) -> str:
    """``templates/monitoring.yaml``."""
    return f"""{header}
{{{{- $m := .Values.monitoring }}}}
{{{{- if $m.service.enabled }}}}
---
apiVersion: v1
kind: Service
metadata:
  name: {_FULLNAME}{SERVICE_SUFFIX}
  namespace: {{{{ .Release.Namespace }}}}
  labels: {_LABELS}
spec:
  type: ClusterIP
  selector: {_SELECTOR}4 }}}}
  ports:
    - name: metrics
      port: {port}
      targetPort: metrics
      protocol: TCP
{{{{- end }}}}
{{{{- if $m.serviceMonitor.enabled }}}}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {_FULLNAME}
  namespace: {{{{ .Release.Namespace }}}}
  labels: {_LABELS}
    {{{{- with $m.serviceMonitor.labels }}}}{{{{ toYaml . | nindent 4 }}}}{{{{ end }}}}
spec:
  jobLabel: app.kubernetes.io/name
  selector:
    matchLabels: {_SELECTOR}6 }}}}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{{{ $m.serviceMonitor.interval }}}}
      honorLabels: true
{{{{- end }}}}
{{{{- if $m.prometheusRule.enabled }}}}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {_FULLNAME}
  namespace: {{{{ .Release.Namespace }}}}
  labels: {_LABELS}
    {{{{- with $m.prometheusRule.labels }}}}{{{{ toYaml . | nindent 4 }}}}{{{{ end }}}}
spec: {{{{- .Files.Get "{HELM_RULES_FILE}" | fromYaml | toYaml | nindent 2 }}}}
{{{{- end }}}}
{{{{- if $m.grafanaDashboard.enabled }}}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {_FULLNAME}{DASHBOARD_SUFFIX}
  namespace: {{{{ .Release.Namespace }}}}
  labels: {_LABELS}
    grafana_dashboard: "1"
    {{{{- with $m.grafanaDashboard.labels }}}}{{{{ toYaml . | nindent 4 }}}}{{{{ end }}}}
data:
  litemaas-operator.json: {{{{ .Files.Get "{HELM_DASHBOARD_FILE}" | toJson }}}}
{{{{- end }}}}
"""


def generated_files(
    name: str,
    namespace: str,
    labels: dict[str, str],
    port: int,
    to_yaml: Callable[[list[dict[str, Any]]], str],
    helm_header: str,
) -> dict[str, str]:
    """Every generated monitoring file but the metrics Service of ``manifests/`` and the
    bundle's objects (``olm_manifests``, which ``install/olm.py`` puts in the bundle)."""
    files: dict[str, str] = {}
    docs = kustomize_monitoring(name, namespace, labels)
    for rel, objs in docs.items():
        files[f"manifests/monitoring/{rel}"] = to_yaml(objs)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(docs),
    }
    files["manifests/monitoring/kustomization.yaml"] = to_yaml([kustomization])
    files["charts/operator/templates/monitoring.yaml"] = helm_template(helm_header, port)
    files[f"charts/operator/{HELM_RULES_FILE}"] = to_yaml([rules.rules_file()])
    files[f"charts/operator/{HELM_DASHBOARD_FILE}"] = dashboard.dashboard_json()
    files["docs/dashboards/litemaas-operator.json"] = dashboard.dashboard_json()
    return files
