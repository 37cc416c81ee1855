"""Public hosts and the URLs derived from them, and what happens when a host is not known."""

from __future__ import annotations

import pytest
from rendering import DOMAIN, INSTANCE, KUBERNETES_BASE, find, render

from litemaas_operator.facts import Instance
from litemaas_operator.render.secrets import decode

CR, NS = INSTANCE.name, INSTANCE.namespace


def problems(state) -> dict[tuple[str, str], str]:
    return {(p.component, p.reason): p.kind for p in state.problems}


def test_route_hosts_come_from_the_router():
    state = render({}, "openshift", frontend_host="ui.example.net", litellm_host="llm.example.net")
    ep = state.endpoints
    assert (ep.routing, ep.scheme) == ("route", "https")
    assert ep.frontend_url == "https://ui.example.net"
    assert ep.callback_url == "https://ui.example.net/api/auth/callback"
    assert ep.litellm_api_url == "https://llm.example.net"
    assert ep.oauth_issuer == f"https://oauth-openshift.{DOMAIN}"
    data = decode(find(state.objects, "Secret", f"{CR}-backend")["data"])
    assert data["cors-origin"] == "https://ui.example.net"


@pytest.mark.parametrize("missing", ["frontend_host", "litellm_host"])
def test_a_route_without_a_host_is_waited_for_not_guessed(missing):
    state = render({}, "openshift", **{missing: None})
    component = missing.removesuffix("_host")
    assert problems(state)[(component, "WaitingForRouteHost")] == "waiting"
    assert problems(state)[("backend", "WaitingForEndpoints")] == "waiting"
    # The Routes are still created (the router needs them to assign a host) ...
    assert len(state.by_kind("Route")) == 2
    # ... but no backend config is written from a guessed URL.
    assert not [
        o
        for o in state.objects
        if o["metadata"]["name"] == f"{CR}-backend" and o["kind"] in ("Secret", "Deployment")
    ]
    assert not [p for p in state.problems if p.kind == "invalid"]


def test_an_explicit_route_host_needs_no_router():
    spec = {"routing": {"frontend": {"host": "ai.example.org"}}}
    state = render(spec, "openshift", frontend_host=None)
    assert state.endpoints.frontend_url == "https://ai.example.org"
    route = find(state.objects, "Route", CR)
    assert route["spec"]["host"] == "ai.example.org"


def test_ingress_hosts_default_under_the_domain():
    state = render(KUBERNETES_BASE, "kubernetes")
    assert state.endpoints.frontend_host == f"{CR}-{NS}.{DOMAIN}"
    assert state.endpoints.litellm_host == f"{CR}-litellm-{NS}.{DOMAIN}"
    ingress = find(state.objects, "Ingress", CR)
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [
        {"hosts": [f"{CR}-{NS}.{DOMAIN}"], "secretName": "litemaas-tls"}
    ]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": f"{CR}-frontend", "port": {"name": "http"}}}


def test_ingress_without_host_or_domain_is_invalid():
    spec = {k: v for k, v in KUBERNETES_BASE.items() if k != "domain"}
    state = render(spec, "kubernetes", domain=None)
    assert problems(state)[("frontend", "HostUnknown")] == "invalid"
    assert problems(state)[("litellm", "HostUnknown")] == "invalid"
    message = next(p.message for p in state.problems if p.reason == "HostUnknown")
    assert "spec.domain" in message and "host" in message
    assert not state.by_kind("Ingress")


def test_ingress_without_tls_uses_http_urls():
    spec = {**KUBERNETES_BASE, "routing": {"ingress": {"tls": False, "tlsSecretName": "x"}}}
    state = render(spec, "kubernetes")
    assert state.endpoints.frontend_url.startswith("http://")
    assert "tls" not in find(state.objects, "Ingress", CR)["spec"]


@pytest.mark.parametrize("mode", ["oauthclient", "serviceaccount"])
def test_openshift_oauth_on_kubernetes_is_invalid(mode):
    spec = {**KUBERNETES_BASE, "auth": {"mode": mode}}
    state = render(spec, "kubernetes")
    assert problems(state)[("auth", "OAuthUnavailable")] == "invalid"
    assert not state.by_kind("OAuthClient")


def test_kubernetes_defaults_to_oidc_and_needs_its_settings():
    state = render({"domain": DOMAIN}, "kubernetes")
    assert state.endpoints.auth_mode == "oidc"
    assert problems(state)[("auth", "OIDCNotConfigured")] == "invalid"


def test_openshift_without_the_oauth_api_is_invalid():
    state = render({}, "openshift", has_oauth_api=False)
    assert problems(state)[("auth", "OAuthUnavailable")] == "invalid"


def test_openshift_without_a_published_issuer_or_domain_says_so():
    state = render({}, "openshift", domain=None, oauth_issuer=None)
    assert problems(state)[("auth", "OAuthIssuerUnknown")] == "invalid"


def test_the_issuer_is_the_clusters_not_derived_from_spec_domain():
    # spec.domain moves the hosts; the OAuth server stays where the cluster has it.
    published = "https://oauth.hcp.example.net:443"
    state = render({"domain": "apps.custom.example.org"}, "openshift", oauth_issuer=published)
    assert state.endpoints.oauth_issuer == published
    assert state.endpoints.frontend_host and "example" in state.endpoints.frontend_host


def test_an_explicit_issuer_wins():
    spec = {"auth": {"oauthIssuer": "https://login.example.com"}}
    state = render(spec, "openshift", oauth_issuer="https://oauth-openshift.apps.example.com")
    assert state.endpoints.oauth_issuer == "https://login.example.com"


def test_routes_on_kubernetes_are_invalid():
    state = render({**KUBERNETES_BASE, "routing": {"type": "route"}}, "kubernetes")
    assert problems(state)[("routing", "RoutesUnavailable")] == "invalid"


def test_groups_without_the_user_api_are_invalid():
    state = render({"groups": {"manage": True}}, "openshift", has_user_api=False)
    assert problems(state)[("auth", "GroupsUnavailable")] == "invalid"
    assert state.groups == {}


def test_oidc_issuer_is_the_providers():
    state = render(KUBERNETES_BASE, "kubernetes")
    assert state.endpoints.oauth_issuer == KUBERNETES_BASE["auth"]["oidc"]["issuer"]
    data = decode(find(state.objects, "Secret", f"{CR}-backend")["data"])
    assert data["oauth-client-id"] == KUBERNETES_BASE["auth"]["oidc"]["clientId"]


def test_serviceaccount_mode_uses_the_account_as_client():
    state = render({"auth": {"mode": "serviceaccount"}}, "openshift")
    assert state.problems == []
    account = find(state.objects, "ServiceAccount", f"{CR}-litemaas")
    redirect = account["metadata"]["annotations"][
        "serviceaccounts.openshift.io/oauth-redirecturi.litemaas"
    ]
    assert redirect == state.endpoints.callback_url
    token = find(state.objects, "Secret", f"{CR}-oauth-token")
    assert token["type"] == "kubernetes.io/service-account-token"
    assert token["metadata"]["annotations"]["kubernetes.io/service-account.name"] == (
        f"{CR}-litemaas"
    )
    data = decode(find(state.objects, "Secret", f"{CR}-backend")["data"])
    assert data["oauth-client-id"] == f"system:serviceaccount:{NS}:{CR}-litemaas"
    assert not state.by_kind("OAuthClient")


def test_serviceaccount_mode_waits_for_the_token():
    state = render({"auth": {"mode": "serviceaccount"}}, "openshift", service_account_token=None)
    assert problems(state)[("backend", "WaitingForServiceAccountToken")] == "waiting"


def test_the_default_login_on_openshift_needs_no_cluster_scoped_object():
    state = render({}, "openshift")
    assert not state.by_kind("OAuthClient")
    assert state.endpoints.auth_mode == "serviceaccount"


def test_oauthclient_names_are_unique_per_instance():
    names = set()
    # ("a-x", "team") and ("x", "team-a") once both gave litemaas-team-a-x.
    instances = (
        Instance("litemaas", "a"),
        Instance("litemaas", "b"),
        Instance("x", "a"),
        Instance("a-x", "team"),
        Instance("x", "team-a"),
    )
    for instance in instances:
        spec = {"auth": {"mode": "oauthclient"}}
        [client] = render(spec, "openshift", instance=instance).by_kind("OAuthClient")
        names.add(client["metadata"]["name"])
        assert client["metadata"]["labels"]["litemaas.io/owner-namespace"] == instance.namespace
        assert client["metadata"]["labels"]["litemaas.io/owner-name"] == instance.name
    assert len(names) == len(instances)


def test_unexposed_litellm_has_no_public_endpoint():
    state = render({**KUBERNETES_BASE, "litellm": {"expose": False}}, "kubernetes")
    assert state.endpoints.litellm_host is None
    assert [i["metadata"]["name"] for i in state.by_kind("Ingress")] == [CR]
    assert state.endpoints.litellm_api_url == f"http://{CR}-litellm:4000"
