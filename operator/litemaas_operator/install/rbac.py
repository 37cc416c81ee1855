"""The operator's RBAC rules, and the ClusterRoles that let namespace users manage LiteMaaS.

The rules are derived from what the operator really calls (``controller.kube.KINDS`` and the
Kopf watches in ``controller.handlers``) and proven sufficient by the e2e tests, which run the
operator with nothing but the ServiceAccount's token. Every install path grants these lists.
"""

from __future__ import annotations

from typing import Any

from ..admission import GROUP_NAMES as GROUPS
from ..api import GROUP, PLURAL
from ..api.backup import BACKUP_PLURAL, RESTORE_PLURAL
from .common import LABELS, LEASE_NAME, NAME, NAMESPACE, SERVICE_ACCOUNT, meta

# Verbs on the namespaced children. No `update`: the operator writes them with server-side
# apply (PATCH, which creates a missing object, hence `create`), merge patches and deletes.
CHILD_VERBS = ["get", "list", "watch", "create", "patch", "delete"]
# (api group, resources) of the namespaced children; `controller.kube.KINDS` is their source
# and a unit test checks that every namespaced kind there (and every Kopf watch) is covered.
CHILDREN: list[tuple[str, list[str]]] = [
    ("", ["configmaps", "persistentvolumeclaims", "secrets", "serviceaccounts", "services"]),
    ("apps", ["deployments", "statefulsets"]),
    ("networking.k8s.io", ["ingresses", "networkpolicies"]),
    ("route.openshift.io", ["routes"]),
    # spec.monitoring (render/monitoring.py).
    ("monitoring.coreos.com", ["servicemonitors", "podmonitors"]),
    # Backup, restore and prune Jobs (spec.backup, LiteMaaSBackup, LiteMaaSRestore).
    ("batch", ["jobs"]),
]
# The backup and restore kinds (LiteMaaSBackup, LiteMaaSRestore).
DAY2_PLURALS = (BACKUP_PLURAL, RESTORE_PLURAL)


def rule(group: str, resources: list[str], verbs: list[str], **extra: Any) -> dict[str, Any]:
    """One PolicyRule."""
    return {"apiGroups": [group], "resources": resources, **extra, "verbs": verbs}


def namespaced_rules() -> list[dict[str, Any]]:
    """Rights in each watched namespace (ClusterRole when watching all namespaces)."""
    return [
        *(rule(group, resources, CHILD_VERBS) for group, resources in CHILDREN),
        # OpenShift checks this subresource when a Route sets spec.host (routing.*.host):
        # `create` to create one with a host, `update` to change the host of an existing one.
        rule("route.openshift.io", ["routes/custom-host"], ["create", "update"]),
        # The CR: watched by Kopf, finalizer and Kopf's annotations patched, spec never written.
        rule(GROUP, [PLURAL], ["get", "list", "watch", "patch"]),
        rule(GROUP, [f"{PLURAL}/status"], ["get", "patch", "update"]),
        # ownerReferences with blockOwnerDeletion (OwnerReferencesPermissionEnforcement).
        rule(GROUP, [f"{PLURAL}/finalizers"], ["update"]),
        # Kopf posts Events (warnings and errors only) about the CR; the backup and restore
        # controller posts one at each transition.
        rule("", ["events"], ["create"]),
        # Backups and restores: watched; scheduled backups created, old ones deleted
        # (retention); the operator's finalizer on a backup holds it until its files are gone.
        rule(GROUP, list(DAY2_PLURALS), ["get", "list", "watch", "create", "patch", "delete"]),
        rule(GROUP, [f"{p}/status" for p in DAY2_PLURALS], ["get", "patch", "update"]),
        # Jobs carry an ownerReference (blockOwnerDeletion) to their backup or restore.
        rule(GROUP, [f"{p}/finalizers" for p in DAY2_PLURALS], ["update"]),
        # Pods, read only (never a write verb): a finished backup pod's termination message
        # holds the dump sizes; a stuck pod's status says why a component is not ready (and
        # the watch on the instances' pods wakes a reconcile when one gets stuck).
        rule("", ["pods"], ["get", "list", "watch"]),
    ]


def cluster_rules() -> list[dict[str, Any]]:
    """Rights that only exist cluster-wide: discovery of CRDs, OpenShift's cluster objects."""
    return [
        # Kopf lists and watches CRDs to find the resources it serves (403s without).
        rule("apiextensions.k8s.io", ["customresourcedefinitions"], ["list", "watch"]),
        # One OAuthClient per instance (auth.mode oauthclient), labelled with its owner. The
        # admission policy lets the operator patch and delete only clients carrying its label.
        # Watched (all of them: a handful per cluster) so reconciles read them from a cache.
        rule(
            "oauth.openshift.io",
            ["oauthclients"],
            ["get", "list", "watch", "create", "patch", "delete"],
        ),
        # The litemaas-admins/-readonly/-users Groups (spec.groups.manage), by name. `create`
        # cannot be limited by name in RBAC; the admission policy limits it to these names.
        # Listed and watched by name (fieldSelector=metadata.name=...), for the cache.
        rule(
            "user.openshift.io",
            ["groups"],
            ["get", "list", "watch", "update", "delete"],
            resourceNames=GROUPS,
        ),
        rule("user.openshift.io", ["groups"], ["create"]),
        # The apps domain, from the one cluster Ingress config.
        rule(
            "config.openshift.io",
            ["ingresses"],
            ["get", "list", "watch"],
            resourceNames=["cluster"],
        ),
        # A volume grows only if its StorageClass allows expansion (read when a size is raised).
        rule("storage.k8s.io", ["storageclasses"], ["get"]),
    ]


def namespace_watch_rules() -> list[dict[str, Any]]:
    """Extra rights when watching listed namespaces: Kopf then follows which exist.

    (Watching all namespaces needs none: the e2e tests show no request for them.)
    """
    return [rule("", ["namespaces"], ["list", "watch"])]


def leader_election_rules(lease: str = LEASE_NAME) -> list[dict[str, Any]]:
    """Rights in the operator's own namespace: its leader Lease, read and renewed by name.

    ``create`` cannot be limited by name in RBAC (the name is not known before the object
    exists); the operator only ever creates the one Lease it is configured with.
    """
    return [
        rule("coordination.k8s.io", ["leases"], ["get", "update"], resourceNames=[lease]),
        rule("coordination.k8s.io", ["leases"], ["create"]),
    ]


def leader_election_role() -> list[dict[str, Any]]:
    """The Role and RoleBinding of ``leader_election_rules`` in the operator's namespace."""
    name = f"{NAME}-leader-election"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(name, NAMESPACE),
            "rules": leader_election_rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(name, NAMESPACE),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [
                {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}
            ],
        },
    ]


def user_roles() -> list[dict[str, Any]]:
    """ClusterRoles aggregated into admin/edit/view, so namespace users can manage LiteMaaS."""
    edit = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
    roles = []
    for suffix, verbs, aggregate in (
        ("editor", edit, ["admin", "edit"]),
        ("viewer", ["get", "list", "watch"], ["view"]),
    ):
        labels = {**LABELS, "app.kubernetes.io/component": "rbac"}
        labels |= {f"rbac.authorization.k8s.io/aggregate-to-{a}": "true" for a in aggregate}
        roles.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": f"{NAME}-litemaas-{suffix}", "labels": labels},
                "rules": [
                    rule(GROUP, [PLURAL, *DAY2_PLURALS], verbs),
                    rule(
                        GROUP,
                        [f"{p}/status" for p in (PLURAL, *DAY2_PLURALS)],
                        ["get", "list", "watch"],
                    ),
                ],
            }
        )
    return roles


def cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """A ClusterRole of the operator's."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(name),
        "rules": rules,
    }


def cluster_binding(name: str) -> dict[str, Any]:
    """Binds the ClusterRole ``name`` to the operator's ServiceAccount."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}],
    }
