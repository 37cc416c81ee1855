"""``spec.monitoring``: the ServiceMonitors (or PodMonitors) of one instance, and why not. Pure.

The backend serves Prometheus metrics at ``GET /api/v1/health/metrics`` on its ``http`` port;
LiteLLM serves ``/metrics`` on its own only once its ``prometheus`` callback is enabled, which
this operator cannot do (it renders no LiteLLM config), hence ``monitoring.litellm``.

Nothing is rendered where ``monitoring.coreos.com/v1`` is not served: the API server would
refuse the objects, and an apply error would stall an instance whose pods are fine. The
``Monitoring`` condition says what happened instead; it never affects ``Ready``.
"""

from __future__ import annotations

from typing import Any

from ..api.spec import LiteMaaSSpec
from ..facts import Instance
from .names import Component, labels, selector

API = "monitoring.coreos.com/v1"
CONDITION = "Monitoring"
BACKEND_PATH = "/api/v1/health/metrics"
LITELLM_PATH = "/metrics"
BACKEND_PORT = 8080
LITELLM_PORT = 4000
OPENSHIFT_MONITORING = {"network.openshift.io/policy-group": "monitoring"}
KUBERNETES_MONITORING = {"kubernetes.io/metadata.name": "monitoring"}


def targets(spec: LiteMaaSSpec) -> list[tuple[Component, str, str, int]]:
    """(component, object name suffix, metrics path, port) of what is scraped."""
    out: list[tuple[Component, str, str, int]] = [("api", "backend", BACKEND_PATH, BACKEND_PORT)]
    if spec.monitoring.litellm:
        out.append(("ai-proxy", "litellm", LITELLM_PATH, LITELLM_PORT))
    return out


def monitor(
    spec: LiteMaaSSpec, instance: Instance, component: Component, suffix: str, path: str
) -> dict[str, Any]:
    """One ServiceMonitor or PodMonitor for ``component``'s ``http`` port."""
    mon = spec.monitoring
    meta_labels = {**(mon.labels or {}), **labels(instance, component, spec.version)}
    endpoint = {"port": "http", "path": path, "interval": mon.interval, "scheme": "http"}
    endpoints_key = "endpoints" if mon.kind == "ServiceMonitor" else "podMetricsEndpoints"
    return {
        "apiVersion": API,
        "kind": mon.kind,
        "metadata": {
            "name": f"{instance.name}-{suffix}",
            "namespace": instance.namespace,
            "labels": meta_labels,
        },
        "spec": {
            "selector": {"matchLabels": selector(instance, component)},
            "namespaceSelector": {"matchNames": [instance.namespace]},
            endpoints_key: [endpoint],
        },
    }


def metrics_policy(
    spec: LiteMaaSSpec, instance: Instance, platform: str | None
) -> dict[str, Any] | None:
    """With the lockdown on (networkPolicy.enabled), admit Prometheus' namespace to the ports.

    NetworkPolicies add up: this one opens the metrics ports to the monitoring namespace
    alone, beside the lockdown's own allows.
    """
    if not spec.network_policy.enabled:
        return None
    ns_labels = spec.monitoring.prometheus_namespace_selector or (
        OPENSHIFT_MONITORING if platform == "openshift" else KUBERNETES_MONITORING
    )
    scraped = targets(spec)
    rules = [
        {
            "from": [{"namespaceSelector": {"matchLabels": dict(ns_labels)}}],
            "ports": [{"protocol": "TCP", "port": port} for *_, port in scraped],
        }
    ]
    pods = [component for component, *_ in scraped]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"{instance.name}-allow-metrics",
            "namespace": instance.namespace,
            "labels": labels(instance, "network", spec.version),
        },
        "spec": {
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "litemaas",
                    "app.kubernetes.io/instance": instance.name,
                },
                "matchExpressions": [
                    {"key": "app.kubernetes.io/component", "operator": "In", "values": pods}
                ],
            },
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }


def build(
    spec: LiteMaaSSpec, instance: Instance, served: set[str] | frozenset[str], platform: str | None
) -> list[dict[str, Any]]:
    """The monitors (and their NetworkPolicy under a lockdown); none when off or not served."""
    if not spec.monitoring.enabled or API not in served:
        return []
    objects = [monitor(spec, instance, c, s, p) for c, s, p, _port in targets(spec)]
    policy = metrics_policy(spec, instance, platform)
    return objects + ([policy] if policy is not None else [])


def condition_state(
    spec: LiteMaaSSpec, served: set[str] | frozenset[str]
) -> tuple[bool, str, str] | None:
    """(True when monitors exist, reason, message) of the Monitoring condition; None when off."""
    mon = spec.monitoring
    if not mon.enabled:
        return None
    if API not in served:
        return (
            False,
            "MonitoringAPIUnavailable",
            f"monitoring.enabled is set but this cluster does not serve {API} (install the "
            "Prometheus Operator, or OpenShift's user workload monitoring): no "
            f"{mon.kind} was created",
        )
    what = ", ".join(f"{s} {p}" for _c, s, p, _port in targets(spec))
    return True, f"{mon.kind}Created", f"{mon.kind}s scrape {what} every {mon.interval}"
