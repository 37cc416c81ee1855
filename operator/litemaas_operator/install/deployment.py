"""The operator Deployment's spec, the same in every install path (Helm fills values into it).

Two replicas elect a leader on a Lease (``controller/leader.py``): one reconciles, the other
stands by and takes over within about 15 s when the leader's node dies, or at once when the
leader is stopped cleanly (a rolling update, a drained node). Soft anti-affinity spreads them
over nodes where there are several; a PodDisruptionBudget keeps one through voluntary
disruptions.
"""

from __future__ import annotations

import copy
from typing import Any

from .common import (
    HEALTH_PORT,
    IMAGE,
    LABELS,
    LEASE_NAME,
    METRICS_PORT,
    POD_SECURITY,
    RESOURCES,
    SERVICE_ACCOUNT,
)

REPLICAS = 2
# A new pod starts (and stands by) before an old one stops: one replica is always there to
# take the Lease, which the stopping leader releases on SIGTERM.
STRATEGY = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def anti_affinity(match_labels: dict[str, str]) -> dict[str, Any]:
    """Prefer (not require) replicas on different nodes: a one-node cluster still runs both."""
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": dict(match_labels)},
                    },
                }
            ]
        }
    }


def pod_disruption_budget(name: str, namespace: str | None = None) -> dict[str, Any]:
    """Voluntary disruptions (drains) leave at least one replica to lead."""
    meta: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {"minAvailable": 1, "selector": {"matchLabels": dict(LABELS)}},
    }


def env(watch_namespace: dict[str, Any]) -> list[dict[str, Any]]:
    """The operator container's environment; ``watch_namespace`` is WATCH_NAMESPACE's entry."""
    return [
        {"name": "WATCH_NAMESPACE", **watch_namespace},
        # Kopf's identity; without it Kopf asks getpass, which fails for a UID without a
        # passwd entry (Docker, containerd).
        {"name": "POD_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "HEALTH_PORT", "value": str(HEALTH_PORT)},
        {"name": "METRICS_PORT", "value": str(METRICS_PORT)},
        {"name": "LOG_FORMAT", "value": "json"},
        # Leader election: the Lease lives in the operator's own namespace.
        {"name": "LEADER_ELECT", "value": "true"},
        {"name": "LEASE_NAME", "value": LEASE_NAME},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]


def deployment_spec(
    image: str = IMAGE, watch_namespace: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The operator Deployment's spec: two replicas electing a leader, rolled one at a time."""
    probe = {
        "httpGet": {"path": "/healthz", "port": "health"},
        "periodSeconds": 20,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }
    return {
        "replicas": REPLICAS,
        "strategy": copy.deepcopy(STRATEGY),
        "selector": {"matchLabels": dict(LABELS)},
        "template": {
            "metadata": {
                "labels": dict(LABELS),
                "annotations": {"kubectl.kubernetes.io/default-container": "operator"},
            },
            "spec": {
                "serviceAccountName": SERVICE_ACCOUNT,
                "securityContext": copy.deepcopy(POD_SECURITY),
                "affinity": anti_affinity(LABELS),
                "terminationGracePeriodSeconds": 30,
                "containers": [
                    {
                        "name": "operator",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "env": env(watch_namespace or {"value": ""}),
                        "ports": [
                            {"name": "health", "containerPort": HEALTH_PORT},
                            {"name": "metrics", "containerPort": METRICS_PORT},
                        ],
                        "livenessProbe": {**probe, "initialDelaySeconds": 15},
                        "readinessProbe": {**probe, "initialDelaySeconds": 5},
                        "resources": copy.deepcopy(RESOURCES),
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }
                ],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
            },
        },
    }
