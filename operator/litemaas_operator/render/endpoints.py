"""Public hosts and the URLs derived from them (CORS origin, OAuth callback, issuer, LiteLLM URL).

Upstream hard-coded these into Secrets and patched them with a post-install Job when a Route host
changed. Here they are derived on every reconcile from the hosts as they really are, and a host
that does not exist yet is reported as something to wait for, never guessed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from ..api.spec import LiteMaaSSpec
from ..facts import ClusterFacts, Instance
from .names import Names

AuthMode = Literal["oauthclient", "serviceaccount", "oidc"]
Routing = Literal["route", "ingress"]


@dataclass(frozen=True)
class Problem:
    """Why part of the desired state cannot be rendered yet.

    ``waiting`` clears by itself (a router assigning a host); ``invalid`` needs the user.
    """

    kind: Literal["waiting", "invalid"]
    component: str
    reason: str
    message: str


@dataclass(frozen=True)
class Endpoints:
    """Resolved routing, hosts and derived URLs of one instance."""

    routing: Routing
    scheme: str
    frontend_host: str | None
    litellm_host: str | None
    auth_mode: AuthMode
    oauth_issuer: str | None
    litellm_internal_url: str
    litellm_api_url: str | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def frontend_url(self) -> str | None:
        return f"{self.scheme}://{self.frontend_host}" if self.frontend_host else None

    @property
    def litellm_public_url(self) -> str | None:
        return f"{self.scheme}://{self.litellm_host}" if self.litellm_host else None

    @property
    def callback_url(self) -> str | None:
        url = self.frontend_url
        return f"{url}/api/auth/callback" if url else None


def resolve_routing(spec: LiteMaaSSpec, facts: ClusterFacts) -> Routing:
    """Route on OpenShift, Ingress elsewhere, unless the spec says which."""
    if spec.routing.type != "auto":
        return spec.routing.type
    return "route" if facts.platform == "openshift" else "ingress"


def resolve_auth_mode(spec: LiteMaaSSpec, facts: ClusterFacts) -> AuthMode:
    """The auth mode, defaulting by platform.

    On OpenShift the default is a ServiceAccount as OAuth client: it needs no cluster-scoped
    object, so a namespace user gets a working login without rights they do not have. The
    cluster-scoped OAuthClient is a cluster administrator's explicit choice (and the admission
    policy checks that its author may create OAuthClients).
    """
    if spec.auth.mode is not None:
        return spec.auth.mode
    return "serviceaccount" if facts.platform == "openshift" else "oidc"


def default_host(name: str, namespace: str, domain: str) -> str:
    """``<name>-<namespace>.<domain>``, as OpenShift's router names hosts.

    A DNS label holds at most 63 characters; when ``<name>-<namespace>`` is longer, the router
    would refuse to admit the Route, so a shortened label with a hash of the full one is used.
    """
    label = f"{name}-{namespace}"
    if len(label) > 63:
        digest = hashlib.sha256(label.encode()).hexdigest()[:8]
        label = f"{label[:54].rstrip('-')}-{digest}"
    return f"{label}.{domain}"


def route_host(
    explicit: str | None, name: str, instance: Instance, domain: str | None
) -> str | None:
    """The host to write into a Route's spec: the user's, or one the router could not make."""
    if explicit:
        return explicit
    if domain and len(f"{name}-{instance.namespace}") > 63:
        return default_host(name, instance.namespace, domain)
    return None  # leave it to the router


def _host(
    explicit: str | None,
    observed: str | None,
    routing: Routing,
    default_name: str,
    instance: Instance,
    domain: str | None,
    component: str,
    problems: list[Problem],
) -> str | None:
    if routing == "route":
        explicit = route_host(explicit, default_name, instance, domain)
    if explicit:
        return explicit
    if routing == "route":
        if observed:
            return observed
        problems.append(
            Problem(
                "waiting",
                component,
                "WaitingForRouteHost",
                f"Route {default_name} has no host yet; the OpenShift router assigns it",
            )
        )
        return None
    if domain:
        return default_host(default_name, instance.namespace, domain)
    problems.append(
        Problem(
            "invalid",
            component,
            "HostUnknown",
            f"set spec.routing.{component}.host or spec.domain: an Ingress needs a host name",
        )
    )
    return None


def resolve(spec: LiteMaaSSpec, facts: ClusterFacts, instance: Instance) -> Endpoints:
    """Resolve hosts and URLs from the spec and what the cluster shows."""
    names = Names(instance)
    problems: list[Problem] = []
    routing = resolve_routing(spec, facts)
    if routing == "route" and facts.platform != "openshift":
        problems.append(
            Problem(
                "invalid",
                "routing",
                "RoutesUnavailable",
                "spec.routing.type is route but this cluster does not serve route.openshift.io",
            )
        )
    domain = spec.domain or facts.domain
    scheme = "https" if routing == "route" or spec.routing.ingress.tls else "http"
    frontend = _host(
        spec.routing.frontend.host,
        facts.frontend_host,
        routing,
        names.frontend_route,
        instance,
        domain,
        "frontend",
        problems,
    )
    litellm = None
    if spec.litellm.expose:
        litellm = _host(
            spec.routing.litellm.host,
            facts.litellm_host,
            routing,
            names.litellm_route,
            instance,
            domain,
            "litellm",
            problems,
        )

    mode = resolve_auth_mode(spec, facts)
    issuer: str | None = None
    if mode == "oidc":
        if spec.auth.oidc is None:
            problems.append(
                Problem(
                    "invalid",
                    "auth",
                    "OIDCNotConfigured",
                    "this cluster has no OpenShift OAuth server: set spec.auth.oidc "
                    "(issuer, clientId, clientSecret)",
                )
            )
        else:
            issuer = spec.auth.oidc.issuer
    elif facts.platform != "openshift" or not facts.has_oauth_api:
        problems.append(
            Problem(
                "invalid",
                "auth",
                "OAuthUnavailable",
                f"auth.mode {mode} needs OpenShift's OAuth server (oauth.openshift.io), "
                "which this cluster does not serve; use auth.mode oidc",
            )
        )
    elif spec.auth.oauth_issuer or facts.oauth_issuer:
        # Never derived from spec.domain: that moves the hosts, not the cluster's OAuth server.
        issuer = spec.auth.oauth_issuer or facts.oauth_issuer
    else:
        problems.append(
            Problem(
                "invalid",
                "auth",
                "OAuthIssuerUnknown",
                "cannot find OpenShift's OAuth issuer: the API server publishes none at "
                "/.well-known/oauth-authorization-server and the cluster ingress config has no "
                "domain; set spec.auth.oauthIssuer",
            )
        )

    internal = f"http://{names.litellm}:4000"
    if spec.backend.litellm_api_url:
        api_url: str | None = spec.backend.litellm_api_url
    elif spec.litellm.expose:
        api_url = f"{scheme}://{litellm}" if litellm else None
    else:
        api_url = internal
    return Endpoints(
        routing=routing,
        scheme=scheme,
        frontend_host=frontend,
        litellm_host=litellm,
        auth_mode=mode,
        oauth_issuer=issuer,
        litellm_internal_url=internal,
        litellm_api_url=api_url,
        problems=problems,
    )
