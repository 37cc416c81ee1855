"""Stand-ins for the OpenShift APIs the operator uses, installed on a plain Kubernetes cluster.

* ``route.openshift.io/v1`` Route and ``config.openshift.io/v1`` Ingress: the real CRDs from
  the openshift/api Go module (copied to the cache by ``hack/cluster.sh build``), so Route
  manifests meet OpenShift's own validation; minimal fallbacks when the cache lacks them.
* ``oauth.openshift.io/v1`` OAuthClient and ``user.openshift.io/v1`` Group: hand-written
  minimal CRDs (on OpenShift these are aggregated APIs; no CRD exists upstream).
* The ``cluster`` Ingress config object carrying the apps domain in ``.spec.domain``.

Route hosts are filled by :mod:`harness.router`, not here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from . import config

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

CRD_NAMES = (
    "routes.route.openshift.io",
    "ingresses.config.openshift.io",
    "oauthclients.oauth.openshift.io",
    "groups.user.openshift.io",
)
GROUPS = ("route.openshift.io", "config.openshift.io", "oauth.openshift.io", "user.openshift.io")


def crd_files() -> list[Path]:
    """The CRD manifests to apply: real ones when cached, else the fallbacks."""
    real = [config.openshift_crd("routes.crd.yaml"), config.openshift_crd("ingresses.crd.yaml")]
    files = (
        real if all(p.is_file() for p in real) else [config.HERE / "crds/openshift-fallback.yaml"]
    )
    return [*files, config.HERE / "crds/openshift-standins.yaml"]


def is_real_openshift(kubectl: Kubectl) -> bool:
    """True when Routes are served by OpenShift itself (an aggregated API, not our CRD)."""
    groups = kubectl("api-versions").stdout.split()
    if "route.openshift.io/v1" not in groups:
        return False
    crd = kubectl("get", "crd", "routes.route.openshift.io", "--ignore-not-found", "-o", "name")
    return not crd.stdout.strip()


def install(kubectl: Kubectl, domain: str = config.DEFAULT_DOMAIN) -> str:
    """Installs the stand-ins (idempotently) and returns the apps domain in effect.

    An existing ``ingresses.config.openshift.io/cluster`` keeps its domain, so re-running
    against a long-lived cluster never changes hosts under running tests.
    """
    for path in crd_files():
        # Server-side: the real Route CRD is too big for client-side apply's annotation.
        kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=litemaas-harness",
            "-f",
            str(path),
        )
    kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        *(f"crd/{name}" for name in CRD_NAMES),
    )
    current = kubectl(
        "get",
        "ingresses.config.openshift.io",
        "cluster",
        "--ignore-not-found",
        "-o",
        "jsonpath={.spec.domain}",
    ).stdout.strip()
    if current:
        return current
    manifest = (
        "apiVersion: config.openshift.io/v1\nkind: Ingress\n"
        f"metadata: {{name: cluster}}\nspec: {{domain: {domain}}}\n"
    )
    kubectl("apply", "--server-side", "--field-manager=litemaas-harness", "-f", "-", input=manifest)
    return domain
