"""``spec.monitoring``: ServiceMonitors (or PodMonitors) for a Prometheus Operator to scrape.

Off by default. Effective only where the cluster serves ``monitoring.coreos.com/v1`` (the
Prometheus Operator's CRDs, OpenShift's user workload monitoring); elsewhere the ``Monitoring``
condition says why nothing was created, and nothing else changes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import SpecModel

# A Prometheus duration as the ServiceMonitor CRD's pattern admits it (e.g. 30s, 1m, 1m30s).
DURATION = r"^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"


class MonitoringSpec(SpecModel):
    """Prometheus scraping of the instance's metrics.

    The backend's metrics (``/api/v1/health/metrics``) always; LiteLLM's ``/metrics`` only with
    ``litellm: true``, because LiteLLM serves it only once its ``prometheus`` callback is on,
    which the operator cannot switch on (it renders no LiteLLM config file: turn the callback on
    in LiteLLM's admin UI or through its /config/update API, which LiteLLM stores in its
    database).
    """

    enabled: bool = Field(
        default=False,
        description="Create a ServiceMonitor (or PodMonitor) for the instance (default false). "
        "Needs the monitoring.coreos.com/v1 API (Prometheus Operator); without it the "
        "Monitoring condition says so and nothing is created.",
    )
    kind: Literal["ServiceMonitor", "PodMonitor"] = Field(
        default="ServiceMonitor",
        description="ServiceMonitor (default; scrapes through the components' Services) or "
        "PodMonitor (scrapes the pods directly).",
    )
    labels: dict[str, str] | None = Field(
        default=None,
        max_length=16,
        description="Labels added to each monitor, to match your Prometheus' "
        "serviceMonitorSelector or podMonitorSelector, e.g. {release: prometheus}.",
    )
    interval: str = Field(
        default="30s",
        max_length=16,
        pattern=DURATION,
        description="Scrape interval, a Prometheus duration such as 30s or 1m (default 30s).",
    )
    litellm: bool = Field(
        default=False,
        description="Also scrape LiteLLM's /metrics (default false). Turn on only after "
        "enabling LiteLLM's prometheus callback (LiteLLM admin UI, or /config/update): the "
        "operator renders no LiteLLM config file and cannot enable it.",
    )
    prometheus_namespace_selector: dict[str, str] | None = Field(
        default=None,
        max_length=8,
        description="Labels of the namespace Prometheus runs in, admitted to the metrics "
        "ports when networkPolicy.enabled locks the instance down. Default: "
        "network.openshift.io/policy-group=monitoring on OpenShift, "
        "kubernetes.io/metadata.name=monitoring elsewhere.",
    )
