"""OpenShift-only behaviour: Route hosts, OAuthClient, ServiceAccount OAuth, shared Groups."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from harness.waiting import wait_until
from litemaas_operator.render.endpoints import default_host
from support.crs import CRs, client_name, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture(scope="session")
def cluster(openshift_cluster):
    """Every test here runs on the OpenShift flavour."""
    return openshift_cluster


def oauth_client(cluster: Any, name: str) -> dict[str, Any] | None:
    api = client.CustomObjectsApi(cluster.api_client())
    try:
        return api.get_cluster_custom_object("oauth.openshift.io", "v1", "oauthclients", name)
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise


def group_users(cluster: Any, name: str) -> list[str] | None:
    api = client.CustomObjectsApi(cluster.api_client())
    try:
        return (
            api.get_cluster_custom_object("user.openshift.io", "v1", "groups", name).get("users")
            or []
        )
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise


def test_oauthclient_follows_the_route_host(
    cluster, crs: CRs, operator: OperatorProcess, namespace: str
):
    body = sample("litemaas-cr")
    body["spec"]["auth"]["mode"] = "oauthclient"
    crs.create(body)
    cr = crs.wait_ready()
    # The router's <route>-<namespace> host, shortened when the label would pass 63 chars.
    host = default_host("litemaas", namespace, cluster.domain)
    assert cr["status"]["urls"] == {
        "frontend": f"https://{host}",
        "litellm": f"https://{default_host('litemaas-litellm', namespace, cluster.domain)}",
    }
    name = client_name(namespace)
    oc = oauth_client(cluster, name)
    assert oc["redirectURIs"] == [f"https://{host}/api/auth/callback"]
    assert oc["metadata"]["labels"]["litemaas.io/owner-namespace"] == namespace
    assert oc["metadata"]["labels"]["litemaas.io/owner-uid"] == cr["metadata"]["uid"]
    # Read back from the API server: only the scopes LiteMaaS needs.
    assert oc["scopeRestrictions"] == [{"literals": ["user:info", "user:check-access"]}]
    backend = crs.secret("litemaas-backend")
    assert backend["oauth-client-id"] == name
    assert backend["oauth-client-secret"] == oc["secret"]
    assert backend["oauth-issuer"] == f"https://oauth-openshift.{cluster.domain}"
    assert backend["cors-origin"] == f"https://{host}"
    template = crs.deployment("litemaas-backend").spec.template.metadata.annotations
    old_hash = template["litemaas.io/config-hash"]

    # The router re-admits the Route under another host (a shard move, a domain change).
    new_host = f"portal-{namespace}.{cluster.domain}"
    client.CustomObjectsApi(cluster.api_client()).patch_namespaced_custom_object(
        "route.openshift.io", "v1", namespace, "routes", "litemaas", {"spec": {"host": new_host}}
    )
    wait_until(
        lambda: crs.secret("litemaas-backend")["cors-origin"] == f"https://{new_host}",
        30,
        what="derived URLs follow the new host",
    )
    backend = crs.secret("litemaas-backend")
    assert backend["oauth-callback-url"] == f"https://{new_host}/api/auth/callback"
    assert oauth_client(cluster, name)["redirectURIs"] == [f"https://{new_host}/api/auth/callback"]
    wait_until(
        lambda: (
            crs.deployment("litemaas-backend").spec.template.metadata.annotations[
                "litemaas.io/config-hash"
            ]
            != old_hash
        ),
        30,
        what="backend rolled",
    )
    wait_until(
        lambda: crs.get()["status"]["urls"]["frontend"] == f"https://{new_host}",
        30,
        what="status URL updated",
    )

    crs.delete()
    crs.wait_gone()
    assert oauth_client(cluster, name) is None


def test_serviceaccount_oauth_mode(cluster, crs: CRs, operator: OperatorProcess, namespace: str):
    body = sample("litemaas-cr")  # the default auth mode on OpenShift
    assert "mode" not in body["spec"]["auth"]
    crs.create(body)
    crs.wait_ready()
    account = crs.core.read_namespaced_service_account("litemaas-litemaas", namespace)
    host = default_host("litemaas", namespace, cluster.domain)
    assert (
        account.metadata.annotations["serviceaccounts.openshift.io/oauth-redirecturi.litemaas"]
        == f"https://{host}/api/auth/callback"
    )
    backend = crs.secret("litemaas-backend")
    assert backend["oauth-client-id"] == f"system:serviceaccount:{namespace}:litemaas-litemaas"
    token = crs.secret("litemaas-oauth-token")["token"]
    assert token and backend["oauth-client-secret"] == token
    assert oauth_client(cluster, client_name(namespace)) is None


def test_two_instances_share_groups(cluster, namespace: str, litemaas_crd):
    other = f"{namespace[:50]}-b"
    crs_a = CRs(cluster, namespace)
    crs_a.core.create_namespace({"metadata": {"name": other}})
    crs_b = CRs(cluster, other)
    proc = OperatorProcess(cluster.kubeconfig, [namespace, other]).start()
    # Groups are cluster-wide and other tests' instances may contribute to them too, so the
    # assertions look only at members unique to this test.
    shared, alice, bob, carol, dave = (
        f"{n}-{namespace[-6:]}" for n in ("shared", "alice", "bob", "carol", "dave")
    )

    def admins() -> set[str]:
        return set(group_users(cluster, "litemaas-admins") or [])

    def users() -> set[str]:
        return set(group_users(cluster, "litemaas-users") or [])

    try:
        a = sample("litemaas-cr")
        a["spec"]["groups"] = {"manage": True, "admins": [alice, shared], "users": [dave]}
        a["spec"]["auth"]["mode"] = "oauthclient"
        b = sample("litemaas-cr")
        b["spec"]["groups"] = {"manage": True, "admins": [bob, shared]}
        b["spec"]["auth"]["mode"] = "oauthclient"
        crs_a.create(a)
        crs_b.create(b)
        crs_a.wait_ready()
        crs_b.wait_ready()
        wait_until(
            lambda: {alice, bob, shared} <= admins(), 30, what="union of both instances' admins"
        )
        assert dave in users()
        # Two OAuthClients, one per instance.
        assert oauth_client(cluster, client_name(namespace))
        assert oauth_client(cluster, client_name(other))

        # A person adds a member by hand; the operator keeps it.
        api = client.CustomObjectsApi(cluster.api_client())
        api.patch_cluster_custom_object(
            "user.openshift.io",
            "v1",
            "groups",
            "litemaas-admins",
            {"users": sorted(admins() | {carol})},
        )
        crs_a.delete()
        crs_a.wait_gone()
        wait_until(
            lambda: alice not in admins() and {bob, shared, carol} <= admins(),
            30,
            what="only A's own member removed",
        )
        assert dave not in users()
        assert oauth_client(cluster, client_name(namespace)) is None
        assert oauth_client(cluster, client_name(other))

        crs_b.delete()
        crs_b.wait_gone()
        wait_until(
            lambda: not {bob, shared} & admins() and carol in admins(),
            30,
            what="hand-added member survives both instances",
        )
    finally:
        proc.stop()
        crs_a.core.delete_namespace(other)


def test_semantic_problem_is_reported_not_crashed(cluster, crs, operator, namespace: str):
    """A CR the schema accepts but the cluster cannot serve stalls with a clear reason."""
    body = sample("litemaas-cr")
    # Plain-Kubernetes mode: Ingress hosts under spec.domain, and auth defaults to OIDC, which
    # this CR does not configure.
    body["spec"]["platform"] = "kubernetes"
    body["spec"]["domain"] = "apps.example.com"
    crs.create(body)
    stalled = crs.wait_condition("litemaas", "Stalled", "True")
    assert stalled["reason"] == "OIDCNotConfigured"
    assert "spec.auth.oidc" in stalled["message"]
    assert operator.alive()
    crs.patch_spec("litemaas", {"platform": "auto"})
    crs.wait_ready()


def test_spec_domain_moves_hosts_not_the_oauth_issuer(cluster, crs: CRs, operator: OperatorProcess):
    """The issuer is the cluster's (published, or from its own apps domain), never spec.domain."""
    body = sample("litemaas-cr")
    body["spec"]["domain"] = "apps.elsewhere.example.org"
    crs.create(body)
    crs.wait_ready()
    assert crs.secret("litemaas-backend")["oauth-issuer"] == (
        f"https://oauth-openshift.{cluster.domain}"
    )
