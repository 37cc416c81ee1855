"""Every generated install file, from each target's module: what ``hack/gen_install.py`` writes."""

from __future__ import annotations

from pathlib import Path

from ..monitoring import install as monitoring
from . import helm, kustomize, olm
from .catalog import catalog_files
from .common import LABELS, METRICS_PORT, NAME, NAMESPACE, generated_yaml


def generated_files(root: Path) -> dict[str, str]:
    """Every generated file: path relative to the repo root -> content."""
    files = kustomize.files() | helm.files() | olm.files(root)
    files |= monitoring.generated_files(
        NAME, NAMESPACE, LABELS, METRICS_PORT, generated_yaml, helm.HELM_HEADER
    )
    # The file-based catalog carries bundle/manifests/ inline: last, so it sees every file.
    files |= catalog_files(root, files)
    return files
