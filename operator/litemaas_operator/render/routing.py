"""Routes (OpenShift) or Ingresses (elsewhere) for the frontend and LiteLLM."""

from __future__ import annotations

from typing import Any

from .context import RenderContext
from .endpoints import route_host
from .names import Component, labels


def _route(
    ctx: RenderContext, name: str, service: str, component: Component, host: str | None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "to": {"kind": "Service", "name": service, "weight": 100},
        "port": {"targetPort": "http"},
        "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"},
        "wildcardPolicy": "None",
    }
    if host:
        spec["host"] = host
    return {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {
            "name": name,
            "namespace": ctx.instance.namespace,
            "labels": labels(ctx.instance, component, ctx.spec.version),
        },
        "spec": spec,
    }


def _ingress(
    ctx: RenderContext, name: str, service: str, component: Component, host: str
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
    if ingress.tls and ingress.tls_secret_name:
        spec["tls"] = [{"hosts": [host], "secretName": ingress.tls_secret_name}]
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": ctx.instance.namespace,
        "labels": labels(ctx.instance, component, ctx.spec.version),
    }
    if ingress.annotations:
        metadata["annotations"] = dict(ingress.annotations)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """Publish the frontend, and LiteLLM unless ``litellm.expose`` is off."""
    names, ep, routing = ctx.names, ctx.endpoints, ctx.spec.routing
    targets: list[tuple[str, str, Component, str | None, str | None]] = [
        (names.frontend_route, names.frontend, "web", routing.frontend.host, ep.frontend_host)
    ]
    if ctx.spec.litellm.expose:
        targets.append(
            (names.litellm_route, names.litellm, "ai-proxy", routing.litellm.host, ep.litellm_host)
        )
    out = []
    for name, service, component, explicit, resolved in targets:
        if ep.routing == "route":
            # An empty host is left for the router to assign; we then read it back.
            domain = ctx.spec.domain or ctx.facts.domain
            out.append(
                _route(
                    ctx, name, service, component, route_host(explicit, name, ctx.instance, domain)
                )
            )
        elif resolved:
            out.append(_ingress(ctx, name, service, component, resolved))
    return out
