"""Monitoring of the operator and its LiteMaaS instances, in one place.

``rules``: the alerts (a PrometheusRule; each links its runbook in docs/runbooks/).
``dashboard``: the Grafana dashboard (a ConfigMap labelled ``grafana_dashboard: "1"``).
``install``: the operator's metrics Service, ServiceMonitor, PrometheusRule and dashboard for
the three install paths (kustomize, Helm, OLM), written by hack/gen_install.py.

The alerts read the metrics of ``controller/metrics.py``; promtool checks and unit-tests them
(tests/unit/test_alerts.py), and a real Prometheus fires them against the running operator
(tests/e2e/test_prometheus_alerts.py).
"""
