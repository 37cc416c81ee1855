"""Helpers for the fault tests: what a CR left behind, liveness, and quick child lookups."""

from __future__ import annotations

from typing import Any
from urllib.error import URLError
from urllib.request import urlopen

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from litemaas_operator.facts import Instance
from litemaas_operator.render.groups import members_annotation
from litemaas_operator.render.names import OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL

from .crs import CRs
from .operator import OperatorProcess

MANAGED = "app.kubernetes.io/managed-by=litemaas-operator"


def liveness(op: OperatorProcess) -> int:
    """HTTP status of the operator's /healthz (0 when it does not answer)."""
    try:
        with urlopen(f"http://127.0.0.1:{op.health_port}/healthz", timeout=5) as resp:
            return int(resp.status)
    except (URLError, OSError):
        return 0


def namespaced_children(crs: CRs, instance: str = "litemaas") -> set[tuple[str, str]]:
    """(kind, name) of every labelled child of ``instance`` not being deleted."""
    selector = f"{MANAGED},app.kubernetes.io/instance={instance}"
    ns = crs.namespace
    found: set[tuple[str, str]] = set()
    net = client.NetworkingV1Api(crs.core.api_client)
    for kind, lister in (
        ("Secret", crs.core.list_namespaced_secret),
        ("ConfigMap", crs.core.list_namespaced_config_map),
        ("Service", crs.core.list_namespaced_service),
        ("ServiceAccount", crs.core.list_namespaced_service_account),
        ("PersistentVolumeClaim", crs.core.list_namespaced_persistent_volume_claim),
        ("Deployment", crs.apps.list_namespaced_deployment),
        ("StatefulSet", crs.apps.list_namespaced_stateful_set),
        ("NetworkPolicy", net.list_namespaced_network_policy),
        ("Ingress", net.list_namespaced_ingress),
    ):
        for obj in lister(ns, label_selector=selector).items:
            if obj.metadata.deletion_timestamp is None:
                found.add((kind, obj.metadata.name))
    try:
        routes = crs.custom.list_namespaced_custom_object(
            "route.openshift.io", "v1", ns, "routes", label_selector=selector
        )["items"]
    except ApiException as err:
        if err.status != 404:
            raise
        routes = []
    found |= {("Route", r["metadata"]["name"]) for r in routes}
    return found


def cluster_leftovers(crs: CRs, instance: str = "litemaas") -> list[str]:
    """OAuthClients labelled for this instance and Groups still holding its members."""
    out = []
    owner = f"{OWNER_NAMESPACE_LABEL}={crs.namespace},{OWNER_NAME_LABEL}={instance}"
    key = members_annotation(Instance(instance, crs.namespace))
    for group, plural, selector in (
        ("oauth.openshift.io", "oauthclients", owner),
        ("user.openshift.io", "groups", None),
    ):
        try:
            items = crs.custom.list_cluster_custom_object(
                group, "v1", plural, label_selector=selector
            )["items"]
        except ApiException as err:
            if err.status == 404:
                continue  # API not served (kubernetes flavour)
            raise
        for item in items:
            if plural == "oauthclients":
                out.append(f"OAuthClient/{item['metadata']['name']}")
            elif key in (item["metadata"].get("annotations") or {}):
                out.append(f"Group/{item['metadata']['name']} members of {instance}")
    return out


def uid(obj: Any) -> str | None:
    """metadata.uid of a client model or a dict, or None."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj["metadata"]["uid"]
    return obj.metadata.uid
