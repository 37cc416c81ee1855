"""Prometheus metrics of the operator."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter(
    "litemaas_operator_reconciles", "Reconciles of LiteMaaS resources, by result", ["result"]
)
RECONCILE_SECONDS = Histogram(
    "litemaas_operator_reconcile_duration_seconds",
    "Time one reconcile takes",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
APPLIES = Counter("litemaas_operator_applies", "Server-side applies of children, by kind", ["kind"])
INSTANCES = Gauge("litemaas_operator_instances", "LiteMaaS resources this process reconciles")
READY = Gauge("litemaas_operator_ready_instances", "LiteMaaS resources whose Ready is True")
