"""The operator Deployment's spec, the same in every install path (Helm fills values into it)."""

from __future__ import annotations

import copy
from typing import Any

from .common import (
    HEALTH_PORT,
    IMAGE,
    LABELS,
    METRICS_PORT,
    POD_SECURITY,
    RESOURCES,
    SERVICE_ACCOUNT,
)


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
    ]


def deployment_spec(
    image: str = IMAGE, watch_namespace: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The operator Deployment's spec: one replica (Kopf has no leader election), Recreate."""
    probe = {
        "httpGet": {"path": "/healthz", "port": "health"},
        "periodSeconds": 20,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }
    return {
        "replicas": 1,
        "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": dict(LABELS)},
        "template": {
            "metadata": {
                "labels": dict(LABELS),
                "annotations": {"kubectl.kubernetes.io/default-container": "operator"},
            },
            "spec": {
                "serviceAccountName": SERVICE_ACCOUNT,
                "securityContext": copy.deepcopy(POD_SECURITY),
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
