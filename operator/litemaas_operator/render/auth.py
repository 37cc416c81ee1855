"""Authentication objects: the ServiceAccount, the OAuthClient, and the SA-as-OAuth-client bits."""

from __future__ import annotations

from typing import Any

from .. import credentials as cred
from .context import RenderContext
from .names import labels, owner_labels

REDIRECT_ANNOTATION = "serviceaccounts.openshift.io/oauth-redirecturi.litemaas"
# What LiteMaaS's backend asks for (`/apis/user.openshift.io/v1/users/~` needs user:info). An
# OAuthClient without scopeRestrictions allows every scope, user:full included: whoever knows
# the client secret and controls the redirect host could obtain full tokens of any user.
OAUTH_SCOPES = ["user:info", "user:check-access"]


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """The pods' ServiceAccount, plus what the resolved auth mode needs."""
    names, inst, version, ep = ctx.names, ctx.instance, ctx.spec.version, ctx.endpoints
    account: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": names.service_account,
            "namespace": inst.namespace,
            "labels": labels(inst, "oauth", version),
        },
        "automountServiceAccountToken": False,
    }
    out = [account]
    if ep.auth_mode == "serviceaccount":
        if ep.callback_url:
            account["metadata"]["annotations"] = {REDIRECT_ANNOTATION: ep.callback_url}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/service-account-token",
                "metadata": {
                    "name": names.oauth_token,
                    "namespace": inst.namespace,
                    "labels": labels(inst, "oauth", version),
                    "annotations": {"kubernetes.io/service-account.name": names.service_account},
                },
            }
        )
    elif ep.auth_mode == "oauthclient" and ctx.facts.has_oauth_api and ep.callback_url:
        secret = ctx.credential(cred.OAUTH_CLIENT_SECRET, "auth")
        if secret is not None:
            out.append(
                {
                    "apiVersion": "oauth.openshift.io/v1",
                    "kind": "OAuthClient",
                    "metadata": {
                        "name": ctx.spec.auth.oauth_client.name or names.oauth_client,
                        "labels": {**labels(inst, "oauth", version), **owner_labels(inst)},
                    },
                    "secret": secret,
                    "redirectURIs": [ep.callback_url],
                    "grantMethod": ctx.spec.auth.oauth_client.grant_method,
                    "scopeRestrictions": [{"literals": list(OAUTH_SCOPES)}],
                }
            )
    return out
