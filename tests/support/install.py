"""Install the operator as a user would and run it with its ServiceAccount's own token.

Pods are fake on the harness (kwok runs no containers), so the operator runs as a local
process; what makes this an install test is that it authenticates as the installed
ServiceAccount, so every API call it makes is checked against the installed RBAC.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.waiting import wait_until
from support.crs import CRs
from support.operator import OperatorProcess

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "manifests" / "samples"
OPERATOR_NAMESPACE = "litemaas-operator-system"
SERVICE_ACCOUNT = "litemaas-operator"
HELM_RELEASE = "litemaas-operator"  # its ServiceAccount has the same name
HELM_NAMESPACE = "litemaas-helm-system"
# Namespaced kinds a LiteMaaS instance can leave behind (pods: its workloads' pods).
NAMESPACED_KINDS = [
    "configmaps",
    "secrets",
    "services",
    "serviceaccounts",
    "persistentvolumeclaims",
    "pods",
    "deployments.apps",
    "statefulsets.apps",
    "ingresses.networking.k8s.io",
    "networkpolicies.networking.k8s.io",
]
# What every namespace has without LiteMaaS.
BASELINE = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}
SUBRESOURCES = {"exec", "log", "token", "finalizers", "status", "custom-host"}
FORBIDDEN = re.compile(r"forbidden|\bAPI 403\b|status=403", re.IGNORECASE)


def tool(name: str) -> Path | None:
    """A binary built by ``hack/tools.sh`` (helm, operator-verify), or None."""
    out = subprocess.run(
        [str(ROOT / "hack/tools.sh"), "path", name], capture_output=True, text=True, check=False
    )
    return Path(out.stdout.strip()) if out.returncode == 0 else None


def sample(name: str) -> dict[str, Any]:
    """A sample CR, as in ``manifests/samples/<name>.yaml``."""
    return yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())


def new_namespace(cluster: Any, prefix: str) -> str:
    """Create a namespace with a unique name."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    wait_until(
        lambda: cluster.kubectl("get", "sa", "default", "-n", name, check=False).returncode == 0,
        30,
        what=f"default ServiceAccount in {name}",
    )
    return name


def wait_crd(cluster: Any) -> None:
    """Wait until the LiteMaaS CRD is served."""
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/litemaases.litemaas.io"
    )


def token_kubeconfig(
    cluster: Any, path: Path, namespace: str = OPERATOR_NAMESPACE, sa: str = SERVICE_ACCOUNT
) -> Path:
    """A kubeconfig for ``cluster`` that authenticates with a token of the ServiceAccount."""
    token = cluster.kubectl("create", "token", sa, "-n", namespace, "--duration=2h").stdout.strip()
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    server = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "harness", "cluster": server}],
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [{"name": sa, "context": {"cluster": "harness", "user": sa}}],
        "current-context": sa,
    }
    path.write_text(json.dumps(config))
    os.chmod(path, 0o600)
    return path


def objects(cluster: Any, namespace: str, kinds: list[str]) -> set[tuple[str, str]]:
    """(kind, name) of every object of ``kinds`` in ``namespace``, minus the baseline."""
    out = cluster.kubectl("get", ",".join(kinds), "-n", namespace, "-o", "json").stdout
    found = {(o["kind"], o["metadata"]["name"]) for o in json.loads(out)["items"]}
    return found - BASELINE


def cluster_objects_of(cluster: Any, namespace: str, resources: list[str]) -> list[str]:
    """Cluster-scoped objects (OAuthClients, Groups) that mention ``namespace`` anywhere."""
    found = []
    for resource in resources:
        out = cluster.kubectl("get", resource, "-o", "json").stdout
        for obj in json.loads(out)["items"]:
            if namespace in json.dumps(obj):
                found.append(f"{obj['kind']}/{obj['metadata']['name']}")
    return found


def leader_election_env(cluster: Any, namespace: str, deployment: str) -> dict[str, str]:
    """The installed Deployment's leader-election settings, for an operator run here as it.

    The Lease then lives where the Deployment's pods would keep it (POD_NAMESPACE comes from
    the downward API there), so the install's Role for it is what is tested.
    """
    out = cluster.kubectl("get", "deployment", deployment, "-n", namespace, "-o", "json")
    [container] = json.loads(out.stdout)["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    return {
        "LEADER_ELECT": env["LEADER_ELECT"],
        "LEASE_NAME": env["LEASE_NAME"],
        "POD_NAMESPACE": namespace,
    }


def forbidden_lines(log: str) -> list[str]:
    """Log lines that report an authorization failure."""
    return [line for line in log.splitlines() if FORBIDDEN.search(line)]


def can_i(
    cluster: Any,
    verb: str,
    resource: str,
    namespace: str | None = None,
    sa: tuple[str, str] = (OPERATOR_NAMESPACE, SERVICE_ACCOUNT),
) -> bool:
    """``kubectl auth can-i`` as the operator's ServiceAccount.

    ``resource`` is ``kind``, ``kind/name`` or ``kind/subresource`` (the known subresources).
    """
    base, _, rest = resource.partition("/")
    args = ["auth", "can-i", verb, resource]
    if rest in SUBRESOURCES:
        args = ["auth", "can-i", verb, base, f"--subresource={rest}"]
    args += ["-n", namespace] if namespace else ["--all-namespaces"]
    args += [f"--as=system:serviceaccount:{sa[0]}:{sa[1]}"]
    out = cluster.kubectl(*args, check=False)
    if out.stdout.strip() not in ("yes", "no"):
        raise RuntimeError(f"kubectl {' '.join(args)}: {out.stdout} {out.stderr}")
    return out.stdout.strip() == "yes"


# User Secrets each sample needs before it can become Ready (named in the samples' comments).
PREREQUISITES: dict[str, dict[str, dict[str, str]]] = {
    "litemaas-cr": {},
    "litemaas-kubernetes": {"litemaas-oidc": {"client-secret": "e2e-oidc-client-secret"}},
    "litemaas-external-db": {
        "litemaas-db": {
            "litemaas-database-url": "postgresql://litemaas:pw@db.example.com:5432/litemaas_db",
            "litellm-database-url": "postgresql://litemaas:pw@db.example.com:5432/litellm_db",
        }
    },
    "litemaas-byo-secrets": {
        "litemaas-byo": {
            "postgres-password": "e2e-postgres-password",
            "jwt-secret": "e2e-jwt-secret-0123456789abcdef0123456789abcdef",
            "litellm-master-key": "sk-e2e0123456789abcdef",
            "admin-api-keys": "ltm_admin_e2e0123456789abcdef",
        }
    },
}


@dataclass
class Installed:
    """An operator installed on ``cluster`` and running as its ServiceAccount."""

    cluster: Any
    operator: OperatorProcess
    namespaces: list[str] = field(default_factory=list)


def create_prerequisites(cluster: Any, namespace: str, sample: str) -> set[str]:
    """Create the user Secrets ``sample`` reads; returns their names."""
    for name, data in PREREQUISITES[sample].items():
        args = [f"--from-literal={k}={v}" for k, v in data.items()]
        cluster.kubectl("create", "secret", "generic", name, "-n", namespace, *args)
    return set(PREREQUISITES[sample])


def sample_namespace(installed: Installed, prefix: str) -> str:
    """A fresh namespace for one sample, deleted with the install."""
    ns = new_namespace(installed.cluster, prefix)
    installed.namespaces.append(ns)
    return ns


def retained(name: str, spec: dict) -> set[tuple[str, str]]:
    """What deleting the CR deliberately keeps: the data and the credentials that open it."""
    database = spec.get("database") or {}
    if database.get("deleteClaimOnDelete"):
        return set()
    keep = {("Secret", f"{name}-credentials"), ("PersistentVolumeClaim", f"{name}-backend-backup")}
    if database.get("mode", "embedded") == "embedded":
        keep.add(("PersistentVolumeClaim", f"data-{name}-postgres-0"))
    return keep


def sample_lifecycle(installed: Installed, ns: str, sample_name: str, kinds: list[str]) -> None:
    """Apply a sample, wait for Ready, delete it: only the retained data may remain.

    Also: no PVC left behind carries an ownerReference, no cluster-scoped object mentions the
    namespace, and the operator (on its ServiceAccount's token) was never refused anything.
    """
    cluster = installed.cluster
    user_secrets = {("Secret", s) for s in create_prerequisites(cluster, ns, sample_name)}
    cr = sample(sample_name)
    name = cr["metadata"]["name"]
    crs = CRs(cluster, ns)

    cluster.kubectl("apply", "-n", ns, "-f", str(SAMPLES / f"{sample_name}.yaml"))
    ready = crs.wait_ready(name, timeout=120)
    assert ready["status"]["urls"]["frontend"].startswith("https://"), ready["status"]
    children = objects(cluster, ns, kinds)
    assert ("Deployment", f"{name}-backend") in children, children

    crs.delete(name)
    crs.wait_gone(name, timeout=90)
    expected = retained(name, cr["spec"]) | user_secrets
    # The garbage collector removes owned children in the background.
    try:
        wait_until(lambda: objects(cluster, ns, kinds) == expected, 90, what="leftovers")
    except TimeoutError:
        assert sorted(objects(cluster, ns, kinds)) == sorted(expected)
    # Every PVC that is left has no ownerReference (so no GC can take it later).
    for kind, pvc in expected:
        if kind == "PersistentVolumeClaim":
            out = cluster.kubectl(
                "get", "pvc", pvc, "-n", ns, "-o", "jsonpath={.metadata.ownerReferences}"
            )
            assert out.stdout == "", out.stdout
    if cluster.flavour == "openshift":
        leftovers = cluster_objects_of(cluster, ns, ["oauthclients", "groups"])
        assert leftovers == [], leftovers
    denied = forbidden_lines(installed.operator.logs())
    assert denied == [], "\n".join(denied)
