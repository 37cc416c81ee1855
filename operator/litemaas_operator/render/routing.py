"""Routes (OpenShift) or Ingresses (elsewhere) for the frontend and LiteLLM."""

from __future__ import annotations

from typing import Any

from ..api.spec import HostSpec
from .context import RenderContext
from .endpoints import route_host
from .names import Component, labels

# LLM calls often run for minutes; the routers' defaults (HAProxy 30 s, ingress-nginx 60 s) would
# cut them off with a 504.
LITELLM_TIMEOUT = "10m"
ROUTE_TIMEOUT = "haproxy.router.openshift.io/timeout"
NGINX_TIMEOUTS = (
    "nginx.ingress.kubernetes.io/proxy-read-timeout",
    "nginx.ingress.kubernetes.io/proxy-send-timeout",
)


def _seconds(duration: str) -> int:
    """``600s``, ``10m`` or ``1h`` in seconds (ingress-nginx wants a plain number)."""
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


def _timeout(endpoint: HostSpec, component: Component) -> str | None:
    return endpoint.timeout or (LITELLM_TIMEOUT if component == "ai-proxy" else None)


def _route(
    ctx: RenderContext,
    name: str,
    service: str,
    component: Component,
    host: str | None,
    endpoint: HostSpec,
) -> dict[str, Any]:
    tls: dict[str, Any] = {
        "termination": endpoint.tls.termination,
        "insecureEdgeTerminationPolicy": endpoint.tls.insecure_edge_termination_policy,
    }
    if endpoint.tls.certificate_secret_name:
        tls["externalCertificate"] = {"name": endpoint.tls.certificate_secret_name}
    spec: dict[str, Any] = {
        "to": {"kind": "Service", "name": service, "weight": 100},
        "port": {"targetPort": "http"},
        "tls": tls,
        "wildcardPolicy": "None",
    }
    if host:
        spec["host"] = host
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": ctx.instance.namespace,
        "labels": labels(ctx.instance, component, ctx.spec.version),
    }
    annotations: dict[str, str] = {}
    if timeout := _timeout(endpoint, component):
        annotations[ROUTE_TIMEOUT] = timeout
    annotations |= endpoint.annotations or {}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": metadata,
        "spec": spec,
    }


def _ingress(
    ctx: RenderContext,
    name: str,
    service: str,
    component: Component,
    host: str,
    endpoint: HostSpec,
) -> dict[str, Any]:
    ingress = ctx.spec.routing.ingress
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": service, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ]
    }
    if ingress.class_name:
        spec["ingressClassName"] = ingress.class_name
    if ingress.tls:
        # A tls block per host, so the https URLs are true and cert-manager (an issuer
        # annotation) knows which Secret to fill.
        spec["tls"] = [{"hosts": [host], "secretName": ingress.tls_secret_name or f"{name}-tls"}]
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": ctx.instance.namespace,
        "labels": labels(ctx.instance, component, ctx.spec.version),
    }
    annotations: dict[str, str] = {}
    if timeout := _timeout(endpoint, component):
        annotations |= {key: str(_seconds(timeout)) for key in NGINX_TIMEOUTS}
    annotations |= (ingress.annotations or {}) | (endpoint.annotations or {})
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """Publish the frontend, and LiteLLM unless ``litellm.expose`` is off."""
    names, ep, routing = ctx.names, ctx.endpoints, ctx.spec.routing
    targets: list[tuple[str, str, Component, HostSpec, str | None]] = [
        (names.frontend_route, names.frontend, "web", routing.frontend, ep.frontend_host)
    ]
    if ctx.spec.litellm.expose:
        targets.append(
            (names.litellm_route, names.litellm, "ai-proxy", routing.litellm, ep.litellm_host)
        )
    out = []
    for name, service, component, endpoint, resolved in targets:
        if ep.routing == "route":
            # An empty host is left for the router to assign; we then read it back.
            domain = ctx.spec.domain or ctx.facts.domain
            host = route_host(endpoint.host, name, ctx.instance, domain)
            out.append(_route(ctx, name, service, component, host, endpoint))
        elif resolved:
            out.append(_ingress(ctx, name, service, component, resolved, endpoint))
    return out
