"""The operator's install, in one place: RBAC rules, the operator Deployment, the CRD.

``hack/gen_install.py`` writes from this module the plain kustomize install (``manifests/``),
the Helm chart's generated templates (``charts/operator/``) and the OLM bundle (``bundle/``),
so the three install paths cannot drift apart; a unit test fails when a committed file
differs from what is generated here.

The rules are derived from what the operator really calls (``controller.kube.KINDS`` and the
Kopf watches in ``controller.handlers``) and proven sufficient by the e2e tests, which run the
operator with nothing but the ServiceAccount's token.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .admission import GROUP_NAMES as GROUPS
from .admission import policies
from .api import GROUP, PLURAL, VERSION, LiteMaaSSpec
from .api.backup import BACKUP_PLURAL, RESTORE_PLURAL
from .api.crd import backup_crd_manifest, crd_filename, crd_manifest, restore_crd_manifest
from .monitoring import install as monitoring
from .render import pods

NAME = "litemaas-operator"
NAMESPACE = "litemaas-operator-system"
SERVICE_ACCOUNT = NAME
OPERATOR_USERNAME = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
IMAGE_REPOSITORY = "quay.io/rh-aiservices-bu/litemaas-operator"
IMAGE = f"{IMAGE_REPOSITORY}:{__version__}"
HEALTH_PORT = 8080
METRICS_PORT = 8081
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "operator"}
RESOURCES = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}
POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}

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
        # OpenShift checks this subresource when a Route sets spec.host (routing.*.host).
        rule("route.openshift.io", ["routes/custom-host"], ["create"]),
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
        # holds the dump sizes; a stuck pod's status says why a component is not ready.
        rule("", ["pods"], ["get", "list"]),
    ]


def cluster_rules() -> list[dict[str, Any]]:
    """Rights that only exist cluster-wide: discovery of CRDs, OpenShift's cluster objects."""
    return [
        # Kopf lists and watches CRDs to find the resources it serves (403s without).
        rule("apiextensions.k8s.io", ["customresourcedefinitions"], ["list", "watch"]),
        # One OAuthClient per instance (auth.mode oauthclient), labelled with its owner. The
        # admission policy lets the operator patch and delete only clients carrying its label.
        rule("oauth.openshift.io", ["oauthclients"], ["get", "list", "create", "patch", "delete"]),
        # The litemaas-admins/-readonly/-users Groups (spec.groups.manage), by name. `create`
        # cannot be limited by name in RBAC; the admission policy limits it to these names.
        rule("user.openshift.io", ["groups"], ["get", "update", "delete"], resourceNames=GROUPS),
        rule("user.openshift.io", ["groups"], ["create"]),
        # The apps domain, from the one cluster Ingress config.
        rule("config.openshift.io", ["ingresses"], ["get"], resourceNames=["cluster"]),
        # A volume grows only if its StorageClass allows expansion (read when a size is raised).
        rule("storage.k8s.io", ["storageclasses"], ["get"]),
    ]


def namespace_watch_rules() -> list[dict[str, Any]]:
    """Extra rights when watching listed namespaces: Kopf then follows which exist.

    (Watching all namespaces needs none: the e2e tests show no request for them.)
    """
    return [rule("", ["namespaces"], ["list", "watch"])]


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


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(name),
        "rules": rules,
    }


def _cluster_binding(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}],
    }


def kustomize_files() -> dict[str, list[dict[str, Any]]]:
    """``manifests/<file>``: its documents (all namespaces watched; kustomize can narrow)."""
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(SERVICE_ACCOUNT)}
    sa["metadata"]["namespace"] = NAMESPACE
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {**LABELS, "pod-security.kubernetes.io/enforce": "restricted"},
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME, NAMESPACE),
        "spec": deployment_spec(),
    }
    return {
        "namespace.yaml": [namespace],
        "crd.yaml": [crd_manifest()],
        f"crd-{BACKUP_PLURAL}.yaml": [backup_crd_manifest()],
        f"crd-{RESTORE_PLURAL}.yaml": [restore_crd_manifest()],
        "rbac.yaml": [
            sa,
            _cluster_role(NAME, namespaced_rules()),
            _cluster_binding(NAME),
            _cluster_role(f"{NAME}-cluster", cluster_rules()),
            _cluster_binding(f"{NAME}-cluster"),
            *user_roles(),
        ],
        "deployment.yaml": [deployment],
        "metrics-service.yaml": [monitoring.metrics_service(NAME, NAMESPACE, LABELS, METRICS_PORT)],
        "admission-policies.yaml": policies(OPERATOR_USERNAME),
    }


def kustomization() -> dict[str, Any]:
    """``manifests/kustomization.yaml``."""
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(kustomize_files()),
    }


class _Dumper(yaml.SafeDumper):
    """A YAML dumper without anchors and aliases (shared lists are written out in full)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(value: Any) -> str:
    """Block-style YAML, keys in insertion order, no aliases."""
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, width=100)


def dump_all(docs: list[Any]) -> str:
    """Several documents, as ``dump``."""
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, width=100)


# ---- Helm -----------------------------------------------------------------------------------

HELM_HEADER = (
    "{{/* Generated by hack/gen_install.py from litemaas_operator.install. Do not edit. */}}"
)


def _helm_block(value: Any, indent: int) -> str:
    """YAML for a block inserted into a template at ``indent`` spaces."""
    text = dump(value)
    return "\n".join((" " * indent + line) if line else line for line in text.splitlines())


def helm_rbac_template() -> str:
    """``templates/rbac.yaml``: ClusterRoles, and Roles per watched namespace or cluster-wide."""
    full = '{{ include "litemaas-operator.fullname" . }}'
    labels = '{{- include "litemaas-operator.labels" . | nindent 4 }}'
    sa = '{{ include "litemaas-operator.serviceAccountName" . }}'
    subjects = (
        f"subjects:\n- kind: ServiceAccount\n  name: {sa}\n"
        "  namespace: {{ .Release.Namespace }}"
    )
    ref = "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {kind}\n  name: {name}"
    return f"""{HELM_HEADER}
{{{{- if .Values.rbac.create }}}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {full}-cluster
  labels: {labels}
rules:
{_helm_block(cluster_rules(), 0)}
{{{{- if not .Values.clusterWide }}}}
{_helm_block(namespace_watch_rules(), 0)}
{{{{- end }}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {full}-cluster
  labels: {labels}
{ref.format(kind="ClusterRole", name=full + "-cluster")}
{subjects}
{{{{- if not .Values.clusterWide }}}}
{{{{- range (.Values.watchNamespaces | default (list .Release.Namespace)) }}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{{{ include "litemaas-operator.fullname" $ }}}}
  namespace: {{{{ . }}}}
  labels: {{{{- include "litemaas-operator.labels" $ | nindent 4 }}}}
rules:
{_helm_block(namespaced_rules(), 0)}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{{{ include "litemaas-operator.fullname" $ }}}}
  namespace: {{{{ . }}}}
  labels: {{{{- include "litemaas-operator.labels" $ | nindent 4 }}}}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{{{ include "litemaas-operator.fullname" $ }}}}
subjects:
- kind: ServiceAccount
  name: {{{{ include "litemaas-operator.serviceAccountName" $ }}}}
  namespace: {{{{ $.Release.Namespace }}}}
{{{{- end }}}}
{{{{- else }}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {full}
  labels: {labels}
rules:
{_helm_block(namespaced_rules(), 0)}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {full}
  labels: {labels}
{ref.format(kind="ClusterRole", name=full)}
{subjects}
{{{{- end }}}}
{{{{- if .Values.rbac.userRoles }}}}
{_helm_user_roles()}
{{{{- end }}}}
{{{{- end }}}}
"""


def _helm_user_roles() -> str:
    docs = []
    for role in user_roles():
        role = copy.deepcopy(role)
        suffix = role["metadata"]["name"].removeprefix(NAME)
        aggregate = {k: v for k, v in role["metadata"]["labels"].items() if k.startswith("rbac.")}
        docs.append(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
            f'  name: {{{{ include "litemaas-operator.fullname" . }}}}{suffix}\n'
            '  labels: {{- include "litemaas-operator.labels" . | nindent 4 }}\n'
            f"{_helm_block(aggregate, 4)}\nrules:\n{_helm_block(role['rules'], 0)}"
        )
    return "\n".join(docs)


def helm_deployment_template() -> str:
    """``templates/deployment.yaml``: the Deployment with the chart's values substituted."""
    spec = deployment_spec(image="__IMAGE__", watch_namespace={"value": "__WATCH__"})
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    container["imagePullPolicy"] = "__PULL__"
    container["resources"] = "__RESOURCES__"
    pod["serviceAccountName"] = "__SA__"
    pod["securityContext"] = "__PODSEC__"
    pod["imagePullSecrets"] = "__PULLSECRETS__"
    container["args"] = "__ARGS__"
    for entry in container["env"]:
        if entry["name"] == "LOG_FORMAT":
            entry["value"] = "__LOGFORMAT__"
    pod["nodeSelector"] = "__NODESELECTOR__"
    pod["tolerations"] = "__TOLERATIONS__"
    pod["affinity"] = "__AFFINITY__"
    spec["selector"]["matchLabels"] = "__SELECTOR__"
    spec["template"]["metadata"]["labels"] = "__PODLABELS__"
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "__FULLNAME__", "namespace": "__NS__", "labels": "__LABELS__"},
        "spec": spec,
    }
    text = dump(doc)
    inline = {
        "__IMAGE__": '"{{ .Values.image.repository }}:{{ .Values.image.tag | default '
        '.Chart.AppVersion }}"',
        "__WATCH__": '{{ include "litemaas-operator.watchNamespaces" . | quote }}',
        "__PULL__": "{{ .Values.image.pullPolicy }}",
        "__SA__": '{{ include "litemaas-operator.serviceAccountName" . }}',
        "__FULLNAME__": '{{ include "litemaas-operator.fullname" . }}',
        "__NS__": "{{ .Release.Namespace }}",
        "__LOGFORMAT__": "{{ .Values.logFormat | quote }}",
    }
    optional = {
        "__PULLSECRETS__": ".Values.imagePullSecrets",
        "__ARGS__": ".Values.extraArgs",
        "__NODESELECTOR__": ".Values.nodeSelector",
        "__TOLERATIONS__": ".Values.tolerations",
        "__AFFINITY__": ".Values.affinity",
    }
    block = {
        "__RESOURCES__": "toYaml .Values.resources",
        "__PODSEC__": "toYaml .Values.podSecurityContext",
        "__SELECTOR__": 'include "litemaas-operator.selectorLabels" .',
        "__PODLABELS__": 'include "litemaas-operator.selectorLabels" .',
        "__LABELS__": 'include "litemaas-operator.labels" .',
    }
    lines = []
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        value = value.strip("'")
        if value in inline:
            line = f"{key}: {inline[value]}"
        elif value in block:
            indent = len(key) - len(key.lstrip()) + 2
            line = f"{key}: {{{{- {block[value]} | nindent {indent} }}}}"
        elif value in optional:
            pad = " " * (len(key) - len(key.lstrip()))
            indent = len(pad) + 2
            line = (
                f"{pad}{{{{- with {optional[value]} }}}}\n"
                f"{key}: {{{{- toYaml . | nindent {indent} }}}}\n{pad}{{{{- end }}}}"
            )
        lines.append(line)
    return HELM_HEADER + "\n" + "\n".join(lines) + "\n"


def helm_policies_template() -> str:
    """``templates/admission-policies.yaml``: the policies, bound to the release's account."""
    username = "system:serviceaccount:__NS__:__SA__"
    text = dump_all(policies(username))
    text = text.replace("__NS__", "{{ .Release.Namespace }}").replace(
        "__SA__", '{{ include "litemaas-operator.serviceAccountName" . }}'
    )
    return f"{HELM_HEADER}\n{{{{- if .Values.admissionPolicies.enabled }}}}\n{text}{{{{- end }}}}\n"


def helm_values() -> dict[str, Any]:
    """The chart's defaults, the same as the plain install's."""
    return {
        "image": {"repository": IMAGE_REPOSITORY, "tag": "", "pullPolicy": "IfNotPresent"},
        "watchNamespaces": [],
        "clusterWide": False,
        "admissionPolicies": {"enabled": True},
        "crds": {"install": True, "keep": True},
        "rbac": {"create": True, "userRoles": True},
        "serviceAccount": {"create": True, "name": ""},
        "resources": copy.deepcopy(RESOURCES),
        "imagePullSecrets": [],
        "podSecurityContext": copy.deepcopy(POD_SECURITY),
        "logFormat": "json",
        "extraArgs": [],
        "nodeSelector": {},
        "tolerations": [],
        "affinity": {},
        "fullnameOverride": "",
        "monitoring": monitoring.helm_values(),
    }


VALUES_COMMENTS = {
    "image": "Operator image; tag defaults to the chart's appVersion.",
    "watchNamespaces": "Namespaces whose LiteMaaS resources the operator manages (a Role in "
    "each); empty: the release's namespace.",
    "clusterWide": "Manage LiteMaaS resources in every namespace (ClusterRoles: the operator "
    "can then read and write Secrets and workloads everywhere). Off: only watchNamespaces.",
    "admissionPolicies": "Install the ValidatingAdmissionPolicies (Kubernetes >= 1.30) that "
    "check a LiteMaaS resource's author for Groups and OAuthClients and hold the operator's "
    "own writes to the objects it manages. Turn off only where policies are not served.",
    "crds": "Install the LiteMaaS CRD (keep: Helm leaves it, and every CR, on uninstall).",
    "rbac": "Create the operator's (Cluster)Roles; userRoles: aggregate LiteMaaS rights into "
    "the admin/edit/view roles.",
    "serviceAccount": "The operator's ServiceAccount (name defaults to the release's full name).",
    "resources": "The operator container's resources.",
    "imagePullSecrets": "Secrets for pulling the operator image, e.g. [{name: mirror-pull}]. "
    "(The LiteMaaS pods use their resource's spec.imagePullSecrets.)",
    "podSecurityContext": "The operator pod's securityContext; the default passes the "
    "restricted Pod Security Standard and OpenShift's restricted-v2.",
    "logFormat": "json (one object per line) or plain.",
    "extraArgs": "Extra arguments to `litemaas-operator run`, e.g. [--resync-seconds=600, "
    "--max-concurrent-reconciles=16].",
    "nodeSelector": "Scheduling of the operator pod.",
    "tolerations": "Scheduling of the operator pod.",
    "affinity": "Scheduling of the operator pod.",
    "fullnameOverride": "Name of the operator's objects; default: the release's name.",
    "monitoring": monitoring.VALUES_COMMENT,
}


def helm_readme() -> str:
    """``charts/operator/README.md``: what the chart installs and a table of every value."""
    rows = []
    for key, value in helm_values().items():
        default = json.dumps(value, separators=(", ", ": "))
        rows.append(f"| `{key}` | `{default}` | {VALUES_COMMENTS.get(key, '')} |")
    table = "\n".join(rows)
    generated = "<!-- Generated by hack/gen_install.py from litemaas_operator.install. -->"
    return f"""{generated}
# litemaas-operator Helm chart

Installs the LiteMaaS operator: the `LiteMaaS` CRD, the operator Deployment, its RBAC (a Role
in each watched namespace, or ClusterRoles with `clusterWide: true`), the
ValidatingAdmissionPolicies that keep a LiteMaaS resource from giving its author more than
they have, and roles that aggregate LiteMaaS rights into `admin`, `edit` and `view`.

```bash
helm install litemaas-operator charts/operator -n litemaas-operator-system --create-namespace
helm install litemaas-operator charts/operator -n litemaas-operator-system \\
    --set 'watchNamespaces={{team-a,team-b}}'
```

Then create a `LiteMaaS` resource in a watched namespace: see the repository's
docs/getting-started.md and docs/security.md.

## Values

| value | default | what it does |
|---|---|---|
{table}
"""


def helm_values_text() -> str:
    """``values.yaml`` with a comment above each top-level key."""
    out = ["# Generated by hack/gen_install.py from litemaas_operator.install. Do not edit."]
    for key, value in helm_values().items():
        if key in VALUES_COMMENTS:
            out.append(f"\n# {VALUES_COMMENTS[key]}")
        out.append(dump({key: value}).rstrip())
    return "\n".join(out) + "\n"


def helm_crd_file() -> dict[str, Any]:
    """``files/crd.yaml``: the CRD, kept by Helm on uninstall unless ``crds.keep`` is off."""
    return crd_manifest()


HELM_CRD_TEMPLATE = f"""{HELM_HEADER}
{{{{- if .Values.crds.install }}}}
{{{{- range $path, $_ := .Files.Glob "files/crd*.yaml" }}}}
{{{{- $crd := $.Files.Get $path | fromYaml }}}}
{{{{- if $.Values.crds.keep }}}}
{{{{- $_ := set $crd.metadata "annotations" (dict "helm.sh/resource-policy" "keep") }}}}
{{{{- end }}}}
---
{{{{ toYaml $crd }}}}
{{{{- end }}}}
{{{{- end }}}}
"""


# ---- OLM bundle -----------------------------------------------------------------------------

CSV_NAME = f"{NAME}.v{__version__}"
SPEC_DESCRIPTORS = [
    ("version", "Version", "LiteMaaS release to run.", ["urn:alm:descriptor:com.tectonic.ui:text"]),
    (
        "platform",
        "Platform",
        "auto, openshift or kubernetes.",
        [
            "urn:alm:descriptor:com.tectonic.ui:select:auto",
            "urn:alm:descriptor:com.tectonic.ui:select:openshift",
            "urn:alm:descriptor:com.tectonic.ui:select:kubernetes",
        ],
    ),
    (
        "domain",
        "Apps domain",
        "Detected on OpenShift.",
        ["urn:alm:descriptor:com.tectonic.ui:text"],
    ),
    (
        "auth.mode",
        "Authentication",
        "oauthclient, serviceaccount or oidc.",
        [
            "urn:alm:descriptor:com.tectonic.ui:select:oauthclient",
            "urn:alm:descriptor:com.tectonic.ui:select:serviceaccount",
            "urn:alm:descriptor:com.tectonic.ui:select:oidc",
        ],
    ),
    (
        "database.mode",
        "Database",
        "Embedded PostgreSQL or an external server.",
        [
            "urn:alm:descriptor:com.tectonic.ui:select:embedded",
            "urn:alm:descriptor:com.tectonic.ui:select:external",
        ],
    ),
    (
        "database.external.secretName",
        "External database Secret",
        "Secret with the two database URLs.",
        ["urn:alm:descriptor:io.kubernetes:Secret"],
    ),
    (
        "database.deleteClaimOnDelete",
        "Delete the volume with the resource",
        "Off: the PostgreSQL volume outlives the resource.",
        ["urn:alm:descriptor:com.tectonic.ui:booleanSwitch"],
    ),
    (
        "groups.manage",
        "Manage Groups",
        "Create litemaas-admins, -readonly and -users.",
        ["urn:alm:descriptor:com.tectonic.ui:booleanSwitch"],
    ),
    (
        "networkPolicy.enabled",
        "NetworkPolicy",
        "Restrict traffic between the components.",
        ["urn:alm:descriptor:com.tectonic.ui:booleanSwitch"],
    ),
    (
        "backend.resources",
        "Backend resources",
        "CPU and memory of the backend.",
        ["urn:alm:descriptor:com.tectonic.ui:resourceRequirements"],
    ),
]
STATUS_DESCRIPTORS = [
    (
        "conditions",
        "Conditions",
        "Ready and one per component.",
        ["urn:alm:descriptor:io.kubernetes.conditions"],
    ),
    (
        "phase",
        "Phase",
        "Progressing, Ready, Degraded or Stalled.",
        ["urn:alm:descriptor:io.kubernetes.phase"],
    ),
    ("version", "Version", "LiteMaaS release running.", ["urn:alm:descriptor:text"]),
    ("urls.frontend", "Portal", "The LiteMaaS web portal.", ["urn:alm:descriptor:org.w3:link"]),
    ("urls.litellm", "LiteLLM", "The LiteLLM API.", ["urn:alm:descriptor:org.w3:link"]),
    (
        "observedGeneration",
        "Observed generation",
        "The spec generation last reconciled.",
        ["urn:alm:descriptor:text"],
    ),
]
OWNED_RESOURCES = [
    ("Deployment", "v1"),
    ("StatefulSet", "v1"),
    ("Service", "v1"),
    ("Secret", "v1"),
    ("ConfigMap", "v1"),
    ("PersistentVolumeClaim", "v1"),
    ("ServiceAccount", "v1"),
    ("Route", "v1"),
    ("Ingress", "v1"),
    ("NetworkPolicy", "v1"),
    ("Job", "v1"),
]
# The backup and restore kinds: what they create, and the status a console shows.
DAY2_OWNED = [
    (
        backup_crd_manifest,
        "LiteMaaS Backup",
        "A pg_dump backup of an instance's two databases, scheduled or on demand.",
    ),
    (
        restore_crd_manifest,
        "LiteMaaS Restore",
        "Loads a LiteMaaSBackup into its instance, stopping its writers meanwhile.",
    ),
]
DAY2_STATUS_DESCRIPTORS = [
    (
        "phase",
        "Phase",
        "Where the backup or restore is.",
        ["urn:alm:descriptor:io.kubernetes.phase"],
    ),
    ("message", "Message", "What happened.", ["urn:alm:descriptor:text"]),
]


def _descriptors(rows: list[tuple[str, str, str, list[str]]]) -> list[dict[str, Any]]:
    return [
        {"path": p, "displayName": d, "description": desc, "x-descriptors": x}
        for p, d, desc, x in rows
    ]


FIRST_SAMPLE = "litemaas-cr.yaml"


def samples(root: Path) -> list[dict[str, Any]]:
    """The sample CRs (alm-examples), without comments.

    The console pre-fills its form with the first: the plain default sample, not one that
    needs Secrets made beforehand or deletes data with the resource.
    """
    paths = sorted(
        (root / "manifests/samples").glob("*.yaml"), key=lambda p: (p.name != FIRST_SAMPLE, p.name)
    )
    # Then one LiteMaaSBackup and one LiteMaaSRestore (OLM wants an example of each kind).
    paths += sorted((root / "manifests/samples/backup").glob("*.yaml"))
    return [yaml.safe_load(p.read_text()) for p in paths]


def related_images() -> list[dict[str, str]]:
    """Every image the operator runs or deploys by default (disconnected installs mirror them)."""
    version = LiteMaaSSpec().version
    return [
        {"name": "operator", "image": IMAGE},
        {"name": "litemaas-backend", "image": pods.litemaas_image("backend", version)},
        {"name": "litemaas-frontend", "image": pods.litemaas_image("frontend", version)},
        {"name": "litellm", "image": pods.LITELLM_IMAGE},
        {"name": "postgres", "image": pods.POSTGRES_IMAGE},
        {"name": "redis", "image": pods.REDIS_IMAGE},
    ]


ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="12" fill="#1f3a5f"/>'
    '<text x="32" y="42" font-family="sans-serif" font-size="26" fill="#fff" '
    'text-anchor="middle">LM</text></svg>'
)


def csv(root: Path) -> dict[str, Any]:
    """The ClusterServiceVersion."""
    crd = crd_manifest()
    watch = {
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['olm.targetNamespaces']"}}
    }
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": CSV_NAME,
            "namespace": "placeholder",
            "annotations": {
                "alm-examples": json.dumps(samples(root), indent=2),
                "capabilities": "Seamless Upgrades",
                "categories": "AI/Machine Learning",
                "containerImage": IMAGE,
                "description": "Deploys and runs LiteMaaS, an LLM models-as-a-service portal, "
                "from one LiteMaaS resource.",
                "operatorframework.io/suggested-namespace": NAMESPACE,
                "repository": "https://github.com/rh-aiservices-bu/litemaas-operator",
                "support": "LiteMaaS community",
                # Not until every image is pinned by digest: mirroring needs digests.
                "features.operators.openshift.io/disconnected": "false",
                "features.operators.openshift.io/fips-compliant": "false",
                "features.operators.openshift.io/proxy-aware": "false",
                "features.operators.openshift.io/tls-profiles": "false",
                "features.operators.openshift.io/token-auth-aws": "false",
                "features.operators.openshift.io/token-auth-azure": "false",
                "features.operators.openshift.io/token-auth-gcp": "false",
            },
            "labels": {"operatorframework.io/arch.amd64": "supported"},
        },
        "spec": {
            "displayName": "LiteMaaS Operator",
            "description": (
                "The LiteMaaS operator installs and runs LiteMaaS (backend, frontend, LiteLLM, "
                "PostgreSQL, Redis) from one `LiteMaaS` resource, wires OpenShift OAuth or an "
                "OIDC provider, manages the LiteMaaS Groups, generates every credential once, "
                "and reports readiness on the resource's status."
            ),
            "version": __version__,
            "maturity": "alpha",
            "minKubeVersion": "1.28.0",
            "icon": [
                {
                    "base64data": base64.b64encode(ICON_SVG.encode()).decode(),
                    "mediatype": "image/svg+xml",
                }
            ],
            "keywords": ["litemaas", "llm", "models-as-a-service", "litellm"],
            "provider": {"name": "LiteMaaS"},
            "links": [
                {"name": "LiteMaaS", "url": "https://github.com/rh-aiservices-bu/litemaas"},
            ],
            "installModes": [
                {"type": "OwnNamespace", "supported": True},
                {"type": "SingleNamespace", "supported": True},
                {"type": "MultiNamespace", "supported": True},
                # Cluster-wide is an explicit choice made elsewhere (kustomize, or the Helm
                # chart's clusterWide): an operator that reads every namespace's Secrets.
                {"type": "AllNamespaces", "supported": False},
            ],
            "customresourcedefinitions": {
                "owned": [
                    {
                        "name": crd["metadata"]["name"],
                        "version": VERSION,
                        "kind": crd["spec"]["names"]["kind"],
                        "displayName": "LiteMaaS",
                        "description": "A LiteMaaS installation.",
                        "resources": [{"kind": k, "version": v} for k, v in OWNED_RESOURCES],
                        "specDescriptors": _descriptors(SPEC_DESCRIPTORS),
                        "statusDescriptors": _descriptors(STATUS_DESCRIPTORS),
                    },
                    *(
                        {
                            "name": (owned := make())["metadata"]["name"],
                            "version": VERSION,
                            "kind": owned["spec"]["names"]["kind"],
                            "displayName": display,
                            "description": description,
                            "resources": [{"kind": "Job", "version": "v1"}],
                            "statusDescriptors": _descriptors(DAY2_STATUS_DESCRIPTORS),
                        }
                        for make, display, description in DAY2_OWNED
                    ),
                ]
            },
            "install": {
                "strategy": "deployment",
                "spec": {
                    "permissions": [
                        {"serviceAccountName": SERVICE_ACCOUNT, "rules": namespaced_rules()}
                    ],
                    # OLM turns `permissions` into ClusterRoles for AllNamespaces installs;
                    # the other install modes watch listed namespaces (namespace_watch_rules).
                    "clusterPermissions": [
                        {
                            "serviceAccountName": SERVICE_ACCOUNT,
                            "rules": cluster_rules() + namespace_watch_rules(),
                        }
                    ],
                    "deployments": [
                        {
                            "name": NAME,
                            "label": dict(LABELS),
                            "spec": deployment_spec(watch_namespace=watch),
                        }
                    ],
                },
            },
            "relatedImages": related_images(),
        },
    }


BUNDLE_ANNOTATIONS = {
    "operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
    "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
    "operators.operatorframework.io.bundle.metadata.v1": "metadata/",
    "operators.operatorframework.io.bundle.package.v1": NAME,
    "operators.operatorframework.io.bundle.channels.v1": "alpha",
    "operators.operatorframework.io.bundle.channel.default.v1": "alpha",
}


def bundle_dockerfile() -> str:
    """``bundle/bundle.Dockerfile`` (build context: ``bundle/``)."""
    labels = "\n".join(f"LABEL {k}={v}" for k, v in BUNDLE_ANNOTATIONS.items())
    return (
        "# Generated by hack/gen_install.py. Build: docker build -f bundle/bundle.Dockerfile "
        "bundle/\nFROM scratch\n\n"
        f"{labels}\n\n"
        "COPY manifests /manifests/\nCOPY metadata /metadata/\n"
    )


# ---- Files ----------------------------------------------------------------------------------

GENERATED = "# Generated by hack/gen_install.py from litemaas_operator.install. Do not edit.\n"


def _yaml(docs: list[dict[str, Any]]) -> str:
    return GENERATED + dump_all(docs)


def generated_files(root: Path) -> dict[str, str]:
    """Every generated file: path relative to the repo root -> content."""
    files = {f"manifests/{name}": _yaml(docs) for name, docs in kustomize_files().items()}
    files["manifests/kustomization.yaml"] = _yaml([kustomization()])
    files["charts/operator/values.yaml"] = helm_values_text()
    files["charts/operator/README.md"] = helm_readme()
    files["charts/operator/files/crd.yaml"] = _yaml([helm_crd_file()])
    for make in (backup_crd_manifest, restore_crd_manifest):
        crd = make()
        files[f"charts/operator/files/crd-{crd['spec']['names']['plural']}.yaml"] = _yaml([crd])
        files[f"bundle/manifests/{crd_filename(crd)}"] = _yaml([crd])
    files["charts/operator/templates/crd.yaml"] = HELM_CRD_TEMPLATE
    files["charts/operator/templates/rbac.yaml"] = helm_rbac_template()
    files["charts/operator/templates/deployment.yaml"] = helm_deployment_template()
    files["charts/operator/templates/admission-policies.yaml"] = helm_policies_template()
    files["manifests/olm/admission-policies.yaml"] = (
        GENERATED
        + "# For OLM installs (any namespace): apply with kubectl apply --server-side -f.\n"
        + dump_all(policies())
    )
    files[f"bundle/manifests/{NAME}.clusterserviceversion.yaml"] = _yaml([csv(root)])
    files[f"bundle/manifests/{GROUP}_{PLURAL}.yaml"] = _yaml([crd_manifest()])
    files["bundle/metadata/annotations.yaml"] = _yaml([{"annotations": BUNDLE_ANNOTATIONS}])
    files["bundle/bundle.Dockerfile"] = bundle_dockerfile()
    files |= monitoring.generated_files(NAME, NAMESPACE, LABELS, METRICS_PORT, _yaml, HELM_HEADER)
    # The file-based catalog carries bundle/manifests/ inline; last, so it sees every file
    # of the bundle (catalog.py imports this module, hence the late import).
    from .catalog import catalog_files

    files.update(catalog_files(root, files))
    return files
