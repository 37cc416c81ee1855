"""Names and labels of everything one LiteMaaS instance creates.

Every namespaced child is prefixed with the CR's name so two instances can share a namespace.
The frontend's Route keeps the CR's own name, so a CR called ``litemaas`` gets the upstream
host ``litemaas-<namespace>.<domain>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from ..facts import Instance

MANAGED_BY = "litemaas-operator"
PREFIX = "litemaas.io"
OWNER_NAME_LABEL = f"{PREFIX}/owner-name"
OWNER_NAMESPACE_LABEL = f"{PREFIX}/owner-namespace"
# The owning CR's uid, set when the operator creates a cluster-scoped object: only an object
# carrying it is ever patched or deleted, so a CR naming someone else's object cannot take it.
OWNER_UID_LABEL = f"{PREFIX}/owner-uid"
# Children that must outlive the CR (data, and the credentials that open it) carry this label
# and no ownerReference, so garbage collection cannot take them.
RETAIN_LABEL = f"{PREFIX}/retain-on-delete"
CONFIG_HASH = f"{PREFIX}/config-hash"

Component = Literal[
    "database",
    "cache",
    "ai-proxy",
    "api",
    "web",
    "oauth",
    "credentials",
    "network",
    "db-admin",
    "backup",
]


@dataclass(frozen=True)
class Names:
    """Object names for one instance."""

    instance: Instance

    def _n(self, suffix: str) -> str:
        return f"{self.instance.name}-{suffix}"

    @property
    def postgres(self) -> str:
        return self._n("postgres")

    @property
    def postgres_init(self) -> str:
        return self._n("postgres-init")

    @property
    def postgres_pvc(self) -> str:
        """The PVC the StatefulSet's volumeClaimTemplate creates for pod 0."""
        return f"data-{self.postgres}-0"

    @property
    def redis(self) -> str:
        return self._n("redis")

    @property
    def litellm(self) -> str:
        return self._n("litellm")

    @property
    def backend(self) -> str:
        return self._n("backend")

    @property
    def backend_backup(self) -> str:
        return self._n("backend-backup")

    @property
    def frontend(self) -> str:
        return self._n("frontend")

    @property
    def credentials(self) -> str:
        return self._n("credentials")

    @property
    def service_account(self) -> str:
        return self._n("litemaas")

    @property
    def oauth_token(self) -> str:
        return self._n("oauth-token")

    @property
    def frontend_route(self) -> str:
        return self.instance.name

    @property
    def litellm_route(self) -> str:
        return self._n("litellm")

    @property
    def oauth_client(self) -> str:
        """``litemaas-<namespace>-<name>-<hash>``: the hash of (namespace, name) keeps CR ``a-x``
        in ``team`` and CR ``x`` in ``team-a`` apart."""
        digest = hashlib.sha256(
            f"{self.instance.namespace}/{self.instance.name}".encode()
        ).hexdigest()[:8]
        return f"litemaas-{self.instance.namespace}-{self.instance.name}-{digest}"

    def service_account_client_id(self) -> str:
        return f"system:serviceaccount:{self.instance.namespace}:{self.service_account}"


def selector(instance: Instance, component: Component) -> dict[str, str]:
    """Immutable selector labels of one component's pods."""
    return {
        "app.kubernetes.io/name": "litemaas",
        "app.kubernetes.io/instance": instance.name,
        "app.kubernetes.io/component": component,
    }


def labels(instance: Instance, component: Component, version: str | None) -> dict[str, str]:
    """The full recommended label set of a child object.

    ``version`` None leaves out ``app.kubernetes.io/version``: the pods of PostgreSQL, Redis and
    LiteLLM do not run LiteMaaS code, and a LiteMaaS version in their template would roll them
    on every upgrade (PostgreSQL before its pre-upgrade backup is even taken).
    """
    out = {
        **selector(instance, component),
        "app.kubernetes.io/part-of": "litemaas",
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    return {k: v for k, v in out.items() if v is not None}


def owner_labels(instance: Instance) -> dict[str, str]:
    """Labels naming the owning CR on cluster-scoped children, which cannot hold ownerRefs."""
    return {OWNER_NAMESPACE_LABEL: instance.namespace, OWNER_NAME_LABEL: instance.name}


def instance_selector(instance: Instance) -> str:
    """A label selector matching every namespaced child of one instance."""
    return f"app.kubernetes.io/instance={instance.name},app.kubernetes.io/managed-by={MANAGED_BY}"
