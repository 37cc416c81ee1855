"""The plain install, ``manifests/`` (``kubectl apply --server-side -k manifests/``).

It watches every namespace (a kustomize overlay can narrow it with WATCH_NAMESPACE).
"""

from __future__ import annotations

from typing import Any

from ..admission import policies
from ..api.backup import BACKUP_PLURAL, RESTORE_PLURAL
from ..api.crd import backup_crd_manifest, crd_manifest, restore_crd_manifest
from ..monitoring import install as monitoring
from .common import (
    LABELS,
    METRICS_PORT,
    NAME,
    NAMESPACE,
    OPERATOR_USERNAME,
    SERVICE_ACCOUNT,
    generated_yaml,
    meta,
)
from .deployment import deployment_spec, pod_disruption_budget
from .rbac import (
    cluster_binding,
    cluster_role,
    cluster_rules,
    leader_election_role,
    namespaced_rules,
    user_roles,
)


def kustomize_files() -> dict[str, list[dict[str, Any]]]:
    """``manifests/<file>``: its documents (all namespaces watched; kustomize can narrow)."""
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {**LABELS, "pod-security.kubernetes.io/enforce": "restricted"},
        },
    }
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(SERVICE_ACCOUNT)}
    sa["metadata"]["namespace"] = NAMESPACE
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(NAME, NAMESPACE),
        "spec": deployment_spec(),
    }
    return {
        "namespace.yaml": [namespace],
        "crd.yaml": [crd_manifest()],
        f"crd-{BACKUP_PLURAL}.yaml": [backup_crd_manifest()],
        f"crd-{RESTORE_PLURAL}.yaml": [restore_crd_manifest()],
        "rbac.yaml": [
            sa,
            cluster_role(NAME, namespaced_rules()),
            cluster_binding(NAME),
            cluster_role(f"{NAME}-cluster", cluster_rules()),
            cluster_binding(f"{NAME}-cluster"),
            *leader_election_role(),
            *user_roles(),
        ],
        "deployment.yaml": [deployment],
        "pod-disruption-budget.yaml": [pod_disruption_budget(NAME, NAMESPACE)],
        "metrics-service.yaml": [monitoring.metrics_service(NAME, NAMESPACE, LABELS, METRICS_PORT)],
        "admission-policies.yaml": policies(OPERATOR_USERNAME),
    }


def kustomization() -> dict[str, Any]:
    """``manifests/kustomization.yaml``."""
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(kustomize_files()),
    }


def files() -> dict[str, str]:
    """Every generated file of ``manifests/``: path relative to the repo root -> content."""
    result = {f"manifests/{name}": generated_yaml(docs) for name, docs in kustomize_files().items()}
    result["manifests/kustomization.yaml"] = generated_yaml([kustomization()])
    return result
