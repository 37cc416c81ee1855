"""NetworkPolicies: deny all ingress to the instance's pods, then allow what LiteMaaS needs."""

from __future__ import annotations

from typing import Any

from .context import RenderContext
from .names import Component, labels, selector

OPENSHIFT_INGRESS = {"policy-group.network.openshift.io/ingress": ""}
NGINX_INGRESS = {"kubernetes.io/metadata.name": "ingress-nginx"}


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """The policies, when ``networkPolicy.enabled``."""
    if not ctx.spec.network_policy.enabled:
        return []
    inst, version = ctx.instance, ctx.spec.version
    ingress_ns = ctx.spec.network_policy.ingress_namespace_selector or (
        OPENSHIFT_INGRESS if ctx.facts.platform == "openshift" else NGINX_INGRESS
    )
    from_router = {"namespaceSelector": {"matchLabels": ingress_ns}}

    def peer(component: Component) -> dict[str, Any]:
        return {"podSelector": {"matchLabels": selector(inst, component)}}

    def policy(name: str, target: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": f"{inst.name}-{name}",
                "namespace": inst.namespace,
                "labels": labels(inst, "network", version),
            },
            "spec": {"podSelector": target, "policyTypes": ["Ingress"], "ingress": rules},
        }

    def allow(component: Component, port: int, sources: list[dict[str, Any]]) -> dict[str, Any]:
        return policy(
            f"allow-{component}",
            {"matchLabels": selector(inst, component)},
            [{"from": sources, "ports": [{"protocol": "TCP", "port": port}]}],
        )

    everything = {
        "matchLabels": {
            "app.kubernetes.io/name": "litemaas",
            "app.kubernetes.io/instance": inst.name,
        }
    }
    return [
        policy("default-deny", everything, []),
        allow("database", 5432, [peer("api"), peer("ai-proxy")]),
        allow("cache", 6379, [peer("api"), peer("ai-proxy")]),
        allow("ai-proxy", 4000, [peer("api"), from_router]),
        allow("api", 8080, [peer("web"), from_router]),
        allow("web", 8080, [from_router]),
    ]
