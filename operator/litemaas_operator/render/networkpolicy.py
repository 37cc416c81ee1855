"""NetworkPolicies: fence off the data stores always, lock everything down on request.

Two tiers (``NetworkPolicySpec``):

- ``dataStores`` (on by default): PostgreSQL admits only the backend and LiteLLM (and the
  instance's password-rotation Job), Redis the same two. Nothing outside the instance needs
  either, so these can never break ingress, and without them every pod in the cluster could
  reach a database spoken to with ``sslmode=disable``.
- ``enabled``: additionally deny all other ingress to the instance's pods and admit only the
  ingress controller's namespace to the frontend, backend and LiteLLM.

The data-store policies keep one name and one body in both tiers, so toggling ``enabled``
adds or prunes only the lockdown policies and never leaves the data stores open in between.
"""

from __future__ import annotations

from typing import Any

from .context import RenderContext
from .names import Component, labels, selector

OPENSHIFT_INGRESS = {"policy-group.network.openshift.io/ingress": ""}
NGINX_INGRESS = {"kubernetes.io/metadata.name": "ingress-nginx"}
POSTGRES_PORT = 5432
REDIS_PORT = 6379
# Pods of the instance that open connections to the data stores (their env holds the URLs).
DATA_STORE_CLIENTS: tuple[Component, ...] = ("api", "ai-proxy")
# Short-lived Jobs that administer PostgreSQL (the password rotation); admitted to it alone.
DATABASE_ADMIN: Component = "db-admin"


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """The data-store policies (unless ``dataStores: false``), plus the lockdown if ``enabled``."""
    spec = ctx.spec.network_policy
    policies: list[dict[str, Any]] = []
    if spec.data_stores or spec.enabled:
        policies += data_store_policies(ctx)
    if spec.enabled:
        policies += lockdown_policies(ctx)
    return policies


def data_store_policies(ctx: RenderContext) -> list[dict[str, Any]]:
    """Admit only the backend and LiteLLM to each data store this instance deploys."""
    clients = [peer(ctx, c) for c in DATA_STORE_CLIENTS]
    policies = []
    # An external database or a disabled Redis has no pod here: a policy would select nothing.
    if ctx.spec.database.mode == "embedded":
        # The password-rotation Job (password_rotation.py) logs in to change the role's password.
        admin = peer(ctx, DATABASE_ADMIN)
        # The backup, restore and prune Jobs (backup.py) run pg_dump and pg_restore.
        backups = peer(ctx, "backup")
        policies.append(allow(ctx, "database", POSTGRES_PORT, [*clients, admin, backups]))
    if ctx.spec.redis.enabled:
        policies.append(allow(ctx, "cache", REDIS_PORT, clients))
    return policies


def lockdown_policies(ctx: RenderContext) -> list[dict[str, Any]]:
    """Deny all ingress to the instance's pods, then admit the router and in-instance calls."""
    inst = ctx.instance
    ingress_ns = ctx.spec.network_policy.ingress_namespace_selector or (
        OPENSHIFT_INGRESS if ctx.facts.platform == "openshift" else NGINX_INGRESS
    )
    from_router = {"namespaceSelector": {"matchLabels": ingress_ns}}
    everything = {
        "matchLabels": {
            "app.kubernetes.io/name": "litemaas",
            "app.kubernetes.io/instance": inst.name,
        }
    }
    # The allows come before the deny: objects are applied in order, so turning the lockdown
    # on never leaves a moment where the frontend is cut off from the router.
    return [
        # The backend may call LiteLLM by its Service (litellm.expose: false) or via the router.
        allow(ctx, "ai-proxy", 4000, [peer(ctx, "api"), from_router]),
        allow(ctx, "api", 8080, [peer(ctx, "web"), from_router]),
        allow(ctx, "web", 8080, [from_router]),
        policy(ctx, "default-deny", everything, []),
    ]


def peer(ctx: RenderContext, component: Component) -> dict[str, Any]:
    """A peer matching one component's pods; without a namespaceSelector, in this namespace."""
    return {"podSelector": {"matchLabels": selector(ctx.instance, component)}}


def allow(
    ctx: RenderContext, component: Component, port: int, sources: list[dict[str, Any]]
) -> dict[str, Any]:
    """Admit ``sources`` to ``port`` of one component's pods, and nothing else to those pods."""
    return policy(
        ctx,
        f"allow-{component}",
        {"matchLabels": selector(ctx.instance, component)},
        [{"from": sources, "ports": [{"protocol": "TCP", "port": port}]}],
    )


def policy(
    ctx: RenderContext, name: str, target: dict[str, Any], rules: list[dict[str, Any]]
) -> dict[str, Any]:
    """An Ingress-only NetworkPolicy; pods it selects admit only what ``rules`` allow."""
    inst = ctx.instance
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"{inst.name}-{name}",
            "namespace": inst.namespace,
            "labels": labels(inst, "network", ctx.spec.version),
        },
        "spec": {"podSelector": target, "policyTypes": ["Ingress"], "ingress": rules},
    }
