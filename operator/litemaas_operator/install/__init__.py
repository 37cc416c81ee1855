"""The operator's install, in one place, one module per target.

``hack/gen_install.py`` writes from this package the plain kustomize install (``manifests/``,
``kustomize.py``), the Helm chart's generated files (``charts/operator/``, ``helm.py``), the OLM
bundle (``bundle/``, ``olm.py``) and the file-based catalog (``catalog/``, ``catalog.py``), all
from the same RBAC rules (``rbac.py``) and operator Deployment (``deployment.py``), so the install
paths cannot drift apart; a unit test fails when a committed file differs from what is
generated here.

The names below are the package's public face (tests and ``hack/`` import them from here).
"""

from __future__ import annotations

from .. import __version__
from ..api.crd import crd_manifest
from .common import (
    IMAGE,
    IMAGE_REPOSITORY,
    LEASE_NAME,
    NAME,
    NAMESPACE,
    OPERATOR_USERNAME,
    SERVICE_ACCOUNT,
)
from .deployment import REPLICAS, deployment_spec, pod_disruption_budget
from .files import generated_files
from .helm import VALUES_COMMENTS, helm_values
from .olm import CSV_NAME, STATUS_DESCRIPTORS, csv
from .rbac import (
    cluster_rules,
    leader_election_rules,
    namespace_watch_rules,
    namespaced_rules,
    user_roles,
)

__all__ = [
    "CSV_NAME",
    "IMAGE",
    "IMAGE_REPOSITORY",
    "LEASE_NAME",
    "NAME",
    "NAMESPACE",
    "OPERATOR_USERNAME",
    "REPLICAS",
    "SERVICE_ACCOUNT",
    "STATUS_DESCRIPTORS",
    "VALUES_COMMENTS",
    "__version__",
    "cluster_rules",
    "crd_manifest",
    "csv",
    "deployment_spec",
    "generated_files",
    "helm_values",
    "leader_election_rules",
    "namespace_watch_rules",
    "namespaced_rules",
    "pod_disruption_budget",
    "user_roles",
]
