"""ValidatingAdmissionPolicies shipped with every install path.

The operator holds more rights than the people who write LiteMaaS resources. Two policies keep
a resource from becoming a lever:

- ``litemaas-author-rights``: a LiteMaaS resource that manages the cluster-wide Groups, or uses
  a cluster-scoped OAuthClient, is admitted only if its *author* may do that themselves (update
  the Groups, create OAuthClients). Checked on create and on every update that changes those
  fields, so a namespace editor can still change the rest of an administrator's resource.
- ``litemaas-operator-writes``: the operator's own ServiceAccount may write Secrets, workloads,
  Routes, OAuthClients and so on only when the object carries its managed-by label (before and
  after the write), Groups only by the three LiteMaaS names, service-account-token Secrets only
  for an instance's own OAuth ServiceAccount, OAuthClients only with restricted scopes, and
  workloads only as unprivileged pods of an instance's ServiceAccount. A stolen operator token
  can then neither patch ``kube-system`` nor mint a token for someone else's ServiceAccount.

Policies are GA since Kubernetes 1.30 (OpenShift 4.17). The rules' CEL reads the resource
through optional fields (``.?``), so an absent section is simply "not set".
"""

from __future__ import annotations

from typing import Any

from .api import GROUP, PLURAL
from .render.auth import OAUTH_SCOPES
from .render.groups import ROLE_GROUPS
from .render.names import MANAGED_BY

AUTHOR_POLICY = "litemaas-author-rights"
OPERATOR_POLICY = "litemaas-operator-writes"
API_VERSION = "admissionregistration.k8s.io/v1"
GROUP_NAMES = list(ROLE_GROUPS.values())
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# Kinds the operator writes (its RBAC's write verbs), as (api group, resources).
OPERATOR_WRITES: list[tuple[str, list[str]]] = [
    ("", ["configmaps", "persistentvolumeclaims", "secrets", "serviceaccounts", "services"]),
    ("apps", ["deployments", "statefulsets"]),
    ("networking.k8s.io", ["ingresses", "networkpolicies"]),
    ("route.openshift.io", ["routes"]),
    ("batch", ["jobs"]),
    ("oauth.openshift.io", ["oauthclients"]),
    ("user.openshift.io", ["groups"]),
]
# Suffixes of the instance's OAuth ServiceAccount and its token Secret (render/names.py).
SA_SUFFIX = "-litemaas"
TOKEN_SUFFIX = "-oauth-token"


def _group_update_allowed(group: str) -> str:
    return (
        f"authorizer.group('user.openshift.io').resource('groups').name('{group}')"
        ".check('update').allowed()"
    )


def author_policy() -> dict[str, Any]:
    """The policy that checks a LiteMaaS resource's author against what it asks for."""
    groups_changed = (
        "request.operation == 'CREATE' || object.spec.?groups != oldObject.spec.?groups"
    )
    manages = (
        "object.spec.?groups.?manage.orValue(false) || (request.operation == 'UPDATE' && "
        "oldObject.spec.?groups.?manage.orValue(false))"
    )
    oauth_client = (
        "object.spec.?auth.?mode.orValue('') == 'oauthclient' || "
        "object.spec.?auth.?oauthClient.?name.hasValue()"
    )
    # The redirect URI follows the frontend host: moving it is moving the client's redirect.
    oauth_changed = (
        "request.operation == 'CREATE' || object.spec.?auth.?mode != oldObject.spec.?auth.?mode"
        " || object.spec.?auth.?oauthClient != oldObject.spec.?auth.?oauthClient"
        " || object.spec.?routing.?frontend.?host != oldObject.spec.?routing.?frontend.?host"
    )
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": AUTHOR_POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [PLURAL],
                    }
                ]
            },
            "variables": [
                {"name": "groupsNeedRights", "expression": f"({manages}) && ({groups_changed})"},
                {
                    "name": "oauthClientNeedsRights",
                    "expression": f"({oauth_client}) && ({oauth_changed})",
                },
            ],
            "validations": [
                # One validation per Group: an authorizer check is costly, and three in one
                # expression exceed the per-expression CEL cost limit.
                *(
                    {
                        "expression": (
                            f"!variables.groupsNeedRights || {_group_update_allowed(group)}"
                        ),
                        "messageExpression": (
                            "'spec.groups: managing the cluster-wide LiteMaaS Groups needs the "
                            f"right to update group {group}, which ' + request.userInfo.username"
                            " + ' does not have; ask a cluster administrator to set spec.groups'"
                        ),
                        "reason": "Forbidden",
                    }
                    for group in GROUP_NAMES
                ),
                {
                    "expression": (
                        "!variables.oauthClientNeedsRights || authorizer.group("
                        "'oauth.openshift.io').resource('oauthclients').check('create')"
                        ".allowed()"
                    ),
                    "messageExpression": (
                        "'spec.auth: an OAuthClient (auth.mode oauthclient, "
                        "auth.oauthClient.name, or its redirect host routing.frontend.host) is "
                        "cluster-scoped and needs the right to create OAuthClients, which ' + "
                        "request.userInfo.username + ' does not have; use auth.mode "
                        "serviceaccount (the default on OpenShift) or ask a cluster "
                        "administrator'"
                    ),
                    "reason": "Forbidden",
                },
            ],
        },
    }


def _labelled(obj: str) -> str:
    return (
        f"has({obj}.metadata.labels) && "
        f"{obj}.metadata.labels[?'{MANAGED_BY_LABEL}'].orValue('') == '{MANAGED_BY}'"
    )


def operator_policy(operator_username: str | None = None) -> dict[str, Any]:
    """The policy on the operator's own writes.

    ``operator_username`` is ``system:serviceaccount:<ns>:<name>``; without it (an install
    whose namespace is chosen later, such as OLM's) every ServiceAccount named
    ``litemaas-operator`` is held to the policy.
    """
    who = (
        f"request.userInfo.username == '{operator_username}'"
        if operator_username
        else "request.userInfo.username.startsWith('system:serviceaccount:') && "
        "request.userInfo.username.endsWith(':litemaas-operator')"
    )
    pod = "object.spec.template.spec"
    containers = f"{pod}.containers + ({pod}.?initContainers.orValue([]))"
    unprivileged = (
        f"!{pod}.?hostNetwork.orValue(false) && !{pod}.?hostPID.orValue(false) && "
        f"!{pod}.?hostIPC.orValue(false) && "
        f"{pod}.?volumes.orValue([]).all(v, !has(v.hostPath)) && "
        f"({containers}).all(c, !c.?securityContext.?privileged.orValue(false)) && "
        f"{pod}.?serviceAccountName.orValue('').endsWith('{SA_SUFFIX}')"
    )
    token_owner = (
        f"object.metadata.name.endsWith('{TOKEN_SUFFIX}') && "
        "object.metadata.?annotations[?'kubernetes.io/service-account.name'].orValue('') == "
        f"object.metadata.name.substring(0, size(object.metadata.name) - {len(TOKEN_SUFFIX)})"
        f" + '{SA_SUFFIX}'"
    )
    groups = ", ".join(f"'{g}'" for g in GROUP_NAMES)
    scopes = ", ".join(f"'{s}'" for s in OAUTH_SCOPES)
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": OPERATOR_POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [group],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                        "resources": resources,
                    }
                    for group, resources in OPERATOR_WRITES
                ]
            },
            "matchConditions": [{"name": "is-the-operator", "expression": who}],
            "validations": [
                {
                    # Groups are shared with people (no label of ours): limited by name.
                    "expression": (
                        f"request.resource.resource != 'groups' || request.name in [{groups}]"
                    ),
                    "messageExpression": (
                        "'litemaas-operator may only write the Groups "
                        f"{', '.join(GROUP_NAMES)}, not ' + request.name"
                    ),
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "request.resource.resource == 'groups' || ("
                        f"(request.operation == 'DELETE' || {_labelled('object')}) && "
                        f"(request.operation == 'CREATE' || {_labelled('oldObject')}))"
                    ),
                    "messageExpression": (
                        "'litemaas-operator may only write objects labelled "
                        f"{MANAGED_BY_LABEL}={MANAGED_BY}; ' + request.resource.resource + ' ' + "
                        "request.namespace + '/' + request.name + ' is not (or would not be)'"
                    ),
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "request.resource.resource != 'secrets' || request.operation == 'DELETE'"
                        " || object.?type.orValue('') != 'kubernetes.io/service-account-token' || "
                        f"({token_owner})"
                    ),
                    "messageExpression": (
                        "'litemaas-operator may only create a service-account-token Secret "
                        f"<instance>{TOKEN_SUFFIX} for its instance ServiceAccount "
                        f"<instance>{SA_SUFFIX}; refused for ' + request.namespace + '/' + "
                        "request.name"
                    ),
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "!(request.resource.resource in "
                        "['deployments', 'statefulsets', 'jobs']) || "
                        f"request.operation == 'DELETE' || ({unprivileged})"
                    ),
                    "messageExpression": (
                        "'litemaas-operator may only run unprivileged pods (no host namespaces, "
                        "hostPath or privileged containers) under an instance ServiceAccount "
                        f"*{SA_SUFFIX}; refused for ' + request.resource.resource + ' ' + "
                        "request.namespace + '/' + request.name"
                    ),
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "request.resource.resource != 'oauthclients' || "
                        "request.operation == 'DELETE' || "
                        "object.?scopeRestrictions.orValue([]).exists(r, "
                        f"r.?literals.orValue([]).all(s, s in [{scopes}])) && "
                        "object.?scopeRestrictions.orValue([]).all(r, has(r.literals))"
                    ),
                    "messageExpression": (
                        "'litemaas-operator may only write OAuthClients restricted to the scopes "
                        f"{', '.join(OAUTH_SCOPES)}; refused for ' + request.name"
                    ),
                    "reason": "Forbidden",
                },
            ],
        },
    }


def binding(policy: str) -> dict[str, Any]:
    """A binding that denies what ``policy`` refuses, everywhere."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy},
        "spec": {"policyName": policy, "validationActions": ["Deny"]},
    }


def policies(operator_username: str | None = None) -> list[dict[str, Any]]:
    """Both policies and their bindings, ready to apply."""
    return [
        author_policy(),
        binding(AUTHOR_POLICY),
        operator_policy(operator_username),
        binding(OPERATOR_POLICY),
    ]
