"""Where the harness finds its binaries and keeps its state.

Everything lives under one cache root outside the repository (``$LITEMAAS_CACHE``, default
``~/.cache/litemaas-operator``) so binaries, kubeconfigs and keys are never committed.
Versions are pinned in ``versions.env`` beside this file, shared with ``hack/cluster.sh``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
DEFAULT_DOMAIN = "apps.harness.local"


def _read_versions() -> dict[str, str]:
    """Parses versions.env (KEY=VALUE lines, ``#`` comments)."""
    versions: dict[str, str] = {}
    for line in (HERE / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


VERSIONS = _read_versions()


def cache_root() -> Path:
    """The cache root; read on each call so tests can point it elsewhere."""
    return Path(os.environ.get("LITEMAAS_CACHE", "~/.cache/litemaas-operator")).expanduser()


def clusters_dir() -> Path:
    """Parent directory of the per-cluster state directories."""
    return cache_root() / "clusters"


def binary(name: str) -> Path:
    """Path of one built binary (it may not exist yet)."""
    if name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"):
        return cache_root() / f"k8s-{VERSIONS['K8S_VERSION']}" / "bin" / name
    if name == "etcd":
        return cache_root() / f"etcd-{VERSIONS['ETCD_VERSION']}" / "bin" / name
    if name == "kwok":
        return cache_root() / f"kwok-{VERSIONS['KWOK_VERSION']}" / "bin" / name
    if name == "routewebhook":
        return cache_root() / f"routewebhook-{routewebhook_version()}" / name
    raise KeyError(name)


ROUTEWEBHOOK_SRC = HERE / "routewebhook"


def routewebhook_version() -> str:
    """A digest of the route webhook's sources, so an edit rebuilds it (hack/cluster.sh agrees).

    The sha256 of go.mod, go.sum and the ``*.go`` files (sorted by name) concatenated, first 12
    hex digits: what ``cat go.mod go.sum *.go | sha256sum`` prints under ``LC_ALL=C``.
    """
    files = ["go.mod", "go.sum", *sorted(p.name for p in ROUTEWEBHOOK_SRC.glob("*.go"))]
    digest = hashlib.sha256(b"".join((ROUTEWEBHOOK_SRC / f).read_bytes() for f in files))
    return digest.hexdigest()[:12]


def kwok_stages() -> Path:
    """The kwok Stage manifests extracted from the kwok module by ``hack/cluster.sh build``."""
    return cache_root() / f"kwok-{VERSIONS['KWOK_VERSION']}" / "stages.yaml"


def openshift_crd(filename: str) -> Path:
    """A CRD file copied from the openshift/api Go module (routes/ingresses.crd.yaml)."""
    return cache_root() / f"openshift-api-{VERSIONS['OPENSHIFT_API_VERSION']}" / filename


CONTROL_PLANE_BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
)


# The OpenShift flavour also runs the route admission webhook (harness/route_admission.py).
OPENSHIFT_BINARIES = ("routewebhook",)


class MissingBinariesError(RuntimeError):
    """The control-plane binaries have not been built (or were built for other versions)."""


def require_binaries(flavour: str = "kubernetes") -> None:
    """Fails with an actionable message unless every binary and the kwok stages exist."""
    needed = CONTROL_PLANE_BINARIES + (OPENSHIFT_BINARIES if flavour == "openshift" else ())
    missing = [str(binary(b)) for b in needed if not binary(b).is_file()]
    if not kwok_stages().is_file():
        missing.append(str(kwok_stages()))
    if missing:
        raise MissingBinariesError(
            "control-plane binaries missing (run `hack/cluster.sh build` first; it takes ~13 min"
            " cold, seconds when cached):\n  " + "\n  ".join(missing)
        )


def kubectl_path() -> str:
    """Our built kubectl, else one on PATH (external clusters, e.g. kind, need no build)."""
    built = binary("kubectl")
    if built.is_file():
        return str(built)
    found = shutil.which("kubectl")
    if found is None:
        raise MissingBinariesError("no kubectl: run `hack/cluster.sh build` or put kubectl on PATH")
    return found
