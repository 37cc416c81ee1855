"""The OpenShift flavour enforces OpenShift's rules: OAuthClient and Group fields, Route admission.

What the operator writes must pass these as it would on OpenShift; each case here is one the
real servers refuse (or accept), with their words.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from harness import Cluster, config, wait_until
from support.install import new_namespace, token_kubeconfig

pytestmark = pytest.mark.integration

ROUTE_ARGS = ("route.openshift.io", "v1")


@pytest.fixture(scope="session")
def cluster(openshift_cluster):
    """Every test here runs on the OpenShift flavour."""
    return openshift_cluster


@pytest.fixture
def custom(cluster: Cluster) -> Iterator[client.CustomObjectsApi]:
    with cluster.api_client() as api:
        yield client.CustomObjectsApi(api)


def refusal(create: Any) -> str:
    """The API server's message refusing a create (the test fails if it is accepted)."""
    with pytest.raises(client.ApiException) as info:
        create()
    assert info.value.status == 422, info.value.body
    return json.loads(info.value.body)["message"]


def oauth_client(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "oauth.openshift.io/v1", "kind": "OAuthClient",
            "metadata": {"name": name}, **fields}  # fmt: skip


@pytest.mark.parametrize(
    "fields, words",
    [
        ({}, "grantMethod: Required value: must be auto or prompt"),
        ({"grantMethod": "never"}, 'grantMethod: Unsupported value: "never"'),
        ({"grantMethod": "auto", "accessTokenInactivityTimeoutSeconds": 100},
         "The minimum valid timeout value is 300 seconds"),
        ({"grantMethod": "auto", "accessTokenInactivityTimeoutSeconds": -1},
         "value cannot be negative"),
        ({"grantMethod": "auto", "accessTokenMaxAgeSeconds": -5}, "value cannot be negative"),
        ({"grantMethod": "auto", "scopeRestrictions": [{}]},
         "exactly one of literals, clusterRole is required"),
        ({"grantMethod": "auto", "scopeRestrictions": [
            {"literals": ["user:info"], "clusterRole": {"roleNames": ["view"], "namespaces": ["*"]}}
        ]}, "exactly one of literals, clusterRole is required"),
        ({"grantMethod": "auto", "redirectURIs": ["https://x.example/cb#frag"]}, "redirectURIs[0]"),
    ],
)  # fmt: skip
def test_oauthclient_rules(custom, fields: dict[str, Any], words: str):
    name = f"harness-oc-{secrets.token_hex(3)}"
    message = refusal(
        lambda: custom.create_cluster_custom_object(
            "oauth.openshift.io", "v1", "oauthclients", oauth_client(name, **fields)
        )
    )
    assert words in message


def test_oauthclient_accepts_what_openshift_accepts(custom):
    name = f"harness-oc-{secrets.token_hex(3)}"
    body = oauth_client(
        name,
        secret="s3cr3t",
        grantMethod="prompt",
        redirectURIs=["https://x.example/api/auth/callback"],
        accessTokenInactivityTimeoutSeconds=300,
        accessTokenMaxAgeSeconds=0,
        scopeRestrictions=[
            {"literals": ["user:info", "user:check-access"]},
            # allowEscalation may be left out, as the real decoder defaults it.
            {"clusterRole": {"roleNames": ["view"], "namespaces": ["*"]}},
        ],
    )
    created = custom.create_cluster_custom_object("oauth.openshift.io", "v1", "oauthclients", body)
    try:
        assert created["accessTokenInactivityTimeoutSeconds"] == 300
        assert created["scopeRestrictions"][0] == {"literals": ["user:info", "user:check-access"]}
    finally:
        custom.delete_cluster_custom_object("oauth.openshift.io", "v1", "oauthclients", name)


@pytest.mark.parametrize("user", ["system:admin", "a/b", "50%", "~", "..", ""])
def test_group_refuses_invalid_user_names(custom, user: str):
    name = f"harness-g-{secrets.token_hex(3)}"
    body = {"apiVersion": "user.openshift.io/v1", "kind": "Group",
            "metadata": {"name": name}, "users": ["alice", user]}  # fmt: skip
    message = refusal(
        lambda: custom.create_cluster_custom_object("user.openshift.io", "v1", "groups", body)
    )
    assert "users[1]" in message


def test_an_empty_group_is_served_with_null_users(custom):
    name = f"harness-g-{secrets.token_hex(3)}"
    body = {"apiVersion": "user.openshift.io/v1", "kind": "Group", "metadata": {"name": name},
            "users": None}  # fmt: skip
    created = custom.create_cluster_custom_object("user.openshift.io", "v1", "groups", body)
    try:
        assert created.get("users") is None
    finally:
        custom.delete_cluster_custom_object("user.openshift.io", "v1", "groups", name)


def a_route(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": name},
            "spec": {"to": {"kind": "Service", "name": "web"}, **spec}}  # fmt: skip


def test_route_validation_is_openshifts(custom, namespace: str):
    args = (*ROUTE_ARGS, namespace, "routes")
    message = refusal(
        lambda: custom.create_namespaced_custom_object(
            *args, a_route("upper", host="UPPER.example.com")
        )
    )
    assert "host must conform to DNS 952 subdomain conventions" in message
    # A generated host whose first label would pass 63 characters is refused, as OpenShift
    # refuses it (what the operator's shortened default hosts avoid).
    long_name = "r" * (64 - len(namespace))
    message = refusal(lambda: custom.create_namespaced_custom_object(*args, a_route(long_name)))
    assert f'spec.host: Invalid value: "{long_name}-{namespace}.' in message


def kubectl_as(cluster: Cluster, kubeconfig: Path, *args: str, input: str | None = None):
    """kubectl with another kubeconfig than the admin's (a ServiceAccount's token)."""
    return subprocess.run(
        [config.kubectl_path(), "--kubeconfig", str(kubeconfig), *args],
        input=input,
        text=True,
        capture_output=True,
        check=False,
    )


def test_custom_host_needs_the_right_to_set_it(cluster: Cluster, namespace: str, tmp_path: Path):
    """Who may create Routes may not set their host without routes/custom-host."""
    sa = "route-author"
    cluster.kubectl("create", "serviceaccount", sa, "-n", namespace)
    cluster.kubectl("create", "role", "routes", "-n", namespace, "--verb=create,get,patch",
                    "--resource=routes.route.openshift.io")  # fmt: skip
    cluster.kubectl("create", "rolebinding", "routes", "-n", namespace,
                    "--role=routes", f"--serviceaccount={namespace}:{sa}")  # fmt: skip
    kubeconfig = token_kubeconfig(cluster, tmp_path / "sa.kubeconfig", namespace, sa)
    host = f"custom-{namespace}.example.com"

    def create(route: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return kubectl_as(cluster, kubeconfig, "create", "-n", namespace, "-f", "-",
                          input=json.dumps(route))  # fmt: skip

    generated = wait_until(
        lambda: (r := create(a_route("generated"))).returncode == 0 and r,
        30,
        what="a Route without host, once the Role applies",
    )
    assert generated
    refused = create(a_route("custom", host=host))
    assert refused.returncode != 0
    assert "spec.host: Forbidden: you do not have permission to set the host field" in (
        refused.stderr
    )
    cluster.kubectl("create", "role", "custom-host", "-n", namespace, "--verb=create",
                    "--resource=routes.route.openshift.io/custom-host")  # fmt: skip
    cluster.kubectl("create", "rolebinding", "custom-host", "-n", namespace,
                    "--role=custom-host", f"--serviceaccount={namespace}:{sa}")  # fmt: skip
    wait_until(
        lambda: create(a_route("custom", host=host)).returncode == 0,
        30,
        what="the Route with a host, once routes/custom-host is granted",
    )
    # Changing the host of an existing Route needs `update` on routes/custom-host.
    changed = kubectl_as(
        cluster, kubeconfig, "patch", "route", "custom", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"host": f"other-{namespace}.example.com"}}),
    )  # fmt: skip
    assert changed.returncode != 0
    assert "you do not have permission to set the host field" in changed.stderr


def test_a_host_held_by_an_older_route_elsewhere_is_not_admitted(
    cluster: Cluster, custom, namespace: str
):
    host = f"shared-{namespace}.example.com"
    other = new_namespace(cluster, "t-host-claim")
    try:
        custom.create_namespaced_custom_object(
            *ROUTE_ARGS, namespace, "routes", a_route("first", host=host)
        )

        def admitted(ns: str, name: str) -> dict[str, Any] | None:
            obj = custom.get_namespaced_custom_object(*ROUTE_ARGS, ns, "routes", name)
            ingress = (obj.get("status") or {}).get("ingress") or []
            return ingress[0]["conditions"][0] if ingress else None

        first = wait_until(lambda: admitted(namespace, "first"), 30, what="first reported")
        assert first["status"] == "True"
        # Creation times have one-second resolution: the second claim must be younger.
        time.sleep(1.1)
        custom.create_namespaced_custom_object(
            *ROUTE_ARGS, other, "routes", a_route("second", host=host)
        )
        second = wait_until(lambda: admitted(other, "second"), 30, what="second reported")
        assert (second["status"], second["reason"]) == ("False", "HostAlreadyClaimed")
        assert host in second["message"]
        # The older claim gone, the host is the next one's.
        custom.delete_namespaced_custom_object(*ROUTE_ARGS, namespace, "routes", "first")
        wait_until(
            lambda: (c := admitted(other, "second")) and c["status"] == "True",
            30,
            what="second admitted once first is gone",
        )
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false")
