"""Pod-level building blocks shared by every component: images, security, probes, scheduling."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from ..api.base import EnvVar, ResourceRequirements, Workload
from ..facts import Instance, Platform
from .names import CONFIG_HASH, Component, labels, selector

LITELLM_IMAGE = "quay.io/rh-aiservices-bu/litellm-non-root:main-v1.81.0-stable-custom"
POSTGRES_IMAGE = "docker.io/library/postgres:16-alpine"
REDIS_IMAGE = "docker.io/library/redis:7-alpine"

# UIDs the community images run as. OpenShift's restricted-v2 SCC assigns a UID from the
# namespace's range instead, and rejects a pod that asks for a fixed one, so these are only set
# on plain Kubernetes, where runAsNonRoot needs a numeric non-root user for root-default images.
POSTGRES_UID = 70
REDIS_UID = 999


def litemaas_image(component: str, version: str) -> str:
    """The upstream image of the backend or frontend for a release (tags have no ``v``)."""
    return f"quay.io/rh-aiservices-bu/litemaas-{component}:{version.removeprefix('v')}"


def pod_security(
    platform: Platform, uid: int | None = None, fs_group: int | None = None
) -> dict[str, Any]:
    """A pod securityContext that passes the ``restricted`` Pod Security Standard.

    IDs only on plain Kubernetes: OpenShift's restricted-v2 assigns them from the namespace's
    range and refuses others.
    """
    context: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if platform == "kubernetes" and uid is not None:
        context |= {"runAsUser": uid, "runAsGroup": uid, "fsGroup": uid}
    elif platform == "kubernetes" and fs_group is not None:
        context["fsGroup"] = fs_group
    return context


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


def with_image_pull_secrets(
    objects: list[dict[str, Any]], secrets: list[str] | None
) -> list[dict[str, Any]]:
    """``objects`` with ``secrets`` as imagePullSecrets of every pod they run."""
    if not secrets:
        return objects
    pulls = [{"name": name} for name in secrets]
    out = []
    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            template = obj["spec"]["template"]
            pod = {**template["spec"], "imagePullSecrets": pulls}
            obj = {**obj, "spec": {**obj["spec"], "template": {**template, "spec": pod}}}
        out.append(obj)
    return out


CONTAINER_SECURITY: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def timings(initial: int, period: int, timeout: int, failures: int) -> dict[str, int]:
    """Probe timings in the upstream order initialDelay/period/timeout/failures."""
    return {
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def http_probe(path: str, port: str | int, *timing: int) -> dict[str, Any]:
    """An HTTP GET probe."""
    return {"httpGet": {"path": path, "port": port}, **timings(*timing)}


def exec_probe(command: list[str], *timing: int) -> dict[str, Any]:
    """An exec probe."""
    return {"exec": {"command": command}, **timings(*timing)}


def resources(default: Mapping[str, Mapping[str, str]], override: Workload) -> dict[str, Any]:
    """The upstream default requests/limits, replaced per map by what the user set."""
    chosen: ResourceRequirements | None = override.resources
    out = {k: dict(v) for k, v in default.items()}
    if chosen is not None:
        for kind in ("requests", "limits"):
            given = getattr(chosen, kind)
            if given is not None:
                out[kind] = {k: str(v) for k, v in given.items()}
    return out


def env(name: str, value: str) -> dict[str, Any]:
    """A literal environment variable."""
    return {"name": name, "value": value}


def secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    """An environment variable read from a Secret key."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def extra_env(extra: list[EnvVar] | None) -> list[dict[str, Any]]:
    """The user's extra env vars in Kubernetes shape."""
    return [e.to_wire() for e in extra or []]


def config_hash(key: str, *inputs: Any) -> str:
    """A stable keyed hash of everything a pod reads at start; a change rolls the pods.

    HMAC-SHA256 under the instance's generated ``config-hash-key``: the annotation is public to
    anyone who may read the workload, and a plain digest of Secret data would let them test
    guesses of a weak password offline.
    """
    blob = json.dumps(inputs, sort_keys=True, default=str).encode()
    return hmac.new(key.encode(), blob, hashlib.sha256).hexdigest()[:32]


def pod_template(
    instance: Instance,
    component: Component,
    version: str | None,
    workload: Workload,
    spec: dict[str, Any],
    *,
    platform: Platform,
    service_account: str,
    uid: int | None = None,
    fs_group: int | None = None,
    inputs_hash: str | None = None,
) -> dict[str, Any]:
    """A pod template with the instance's labels, security context and scheduling knobs."""
    annotations = dict(workload.pod_annotations or {})
    if inputs_hash:
        annotations[CONFIG_HASH] = inputs_hash
    pod: dict[str, Any] = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "securityContext": pod_security(platform, uid, fs_group),
        **spec,
    }
    if workload.node_selector:
        pod["nodeSelector"] = dict(workload.node_selector)
    if workload.tolerations:
        pod["tolerations"] = [t.to_wire() for t in workload.tolerations]
    if workload.affinity:
        pod["affinity"] = workload.affinity
    metadata: dict[str, Any] = {"labels": labels(instance, component, version)}
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": pod}


def merged_env(env: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``env`` with one entry per name: a later entry (the user's extraEnv) replaces an earlier.

    The API server refuses a pod template with a duplicate name (500, "duplicate entries for
    key"); a user who sets a variable the operator also sets means to override it.
    """
    last = {entry["name"]: index for index, entry in enumerate(env)}
    return [entry for index, entry in enumerate(env) if last[entry["name"]] == index]


def container(
    name: str,
    image: str,
    workload: Workload,
    default_resources: Mapping[str, Mapping[str, str]],
    **fields: Any,
) -> dict[str, Any]:
    """A container with the restricted securityContext and the workload's pull policy."""
    out: dict[str, Any] = {"name": name, "image": image}
    if workload.image_pull_policy:
        out["imagePullPolicy"] = workload.image_pull_policy
    out |= fields
    if "env" in out:
        out["env"] = merged_env(out["env"])
    out["resources"] = resources(default_resources, workload)
    out["securityContext"] = CONTAINER_SECURITY
    return out


def deployment(
    instance: Instance,
    name: str,
    component: Component,
    version: str,
    workload: Workload,
    template: dict[str, Any],
    *,
    strategy: str = "RollingUpdate",
) -> dict[str, Any]:
    """A Deployment of one component."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": instance.namespace,
            "labels": labels(instance, component, version),
        },
        "spec": {
            "replicas": 1 if workload.replicas is None else workload.replicas,
            "revisionHistoryLimit": 3,
            "strategy": {"type": strategy},
            "selector": {"matchLabels": selector(instance, component)},
            "template": template,
        },
    }


def service(
    instance: Instance,
    name: str,
    component: Component,
    version: str,
    port: int,
    port_name: str,
) -> dict[str, Any]:
    """A ClusterIP Service with port = targetPort, as upstream."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": instance.namespace,
            "labels": labels(instance, component, version),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector(instance, component),
            "ports": [
                {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
            ],
        },
    }


def wait_for_database(image: str, url_secret: str, url_key: str) -> dict[str, Any]:
    """An init container that blocks until PostgreSQL accepts connections.

    ``pg_isready -d <url>`` needs no password in the command line (upstream inlined it).
    """
    return {
        "name": "wait-for-database",
        "image": image,
        "command": [
            "sh",
            "-c",
            'until pg_isready -q -d "$DATABASE_URL"; do echo waiting for database; sleep 2; done',
        ],
        "env": [secret_env("DATABASE_URL", url_secret, url_key)],
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
        "securityContext": CONTAINER_SECURITY,
    }
