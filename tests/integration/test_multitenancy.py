"""Writing a LiteMaaS CR never gives its author more than they already have.

Attacks from a security review, tried as a user holding only the built-in ``edit`` role in one
namespace (impersonated: the admission policies and RBAC see that user), on the OpenShift
flavour with the install's admission policies and aggregated roles in place. Each is refused
with a message naming what the user lacks, and changes nothing. The same CRs from a cluster
administrator are admitted and work.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.waiting import wait_until
from litemaas_operator.admission import policies
from litemaas_operator.facts import Instance
from litemaas_operator.install import OPERATOR_USERNAME, user_roles
from litemaas_operator.render.groups import members_annotation
from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture(scope="session")
def cluster(openshift_cluster):
    """Every test here runs on the OpenShift flavour."""
    return openshift_cluster


@pytest.fixture(scope="module")
def guarded(cluster: Any) -> None:
    """The install's admission policies and the LiteMaaS rights aggregated into edit."""
    docs = [*policies(OPERATOR_USERNAME), *user_roles()]
    cluster.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(docs))


class Editor:
    """A person with the built-in ``edit`` role in one namespace, and nothing else."""

    def __init__(self, cluster: Any, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.user = f"mallory-{secrets.token_hex(3)}"
        cluster.kubectl(
            "create", "rolebinding", f"{self.user}-edit", "--clusterrole=edit",
            f"--user={self.user}", "-n", namespace,
        )  # fmt: skip

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """kubectl as this user (the API server authorizes and admits as them)."""
        return self.cluster.kubectl(
            *args, "--as", self.user, "--as-group", "system:authenticated",
            "-n", self.namespace, input=input, check=False,
        )  # fmt: skip

    def apply(self, body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """Create or update a CR as this user (a JSON merge of the whole object)."""
        return self.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(body))


@pytest.fixture
def editor(cluster: Any, namespace: str, guarded: None, litemaas_crd: None) -> Editor:
    """An editor of the test's namespace, once RBAC and the policies are in force."""
    person = Editor(cluster, namespace)
    wait_until(
        lambda: (
            person.kubectl("auth", "can-i", "create", "litemaases.litemaas.io").stdout.strip()
            == "yes"
        ),
        60,
        what="LiteMaaS rights aggregated into edit",
    )
    # A policy is enforced once the API server has loaded it: probe with a server dry run.
    probe = cr("probe", {"groups": {"manage": True}})
    wait_until(
        lambda: (
            "spec.groups"
            in person.kubectl(
                "create", "--dry-run=server", "-f", "-", input=json.dumps(probe)
            ).stderr
        ),
        60,
        what="admission policy in force",
    )
    return person


def cr(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A LiteMaaS CR with ``spec``."""
    return {
        "apiVersion": "litemaas.io/v1alpha1",
        "kind": "LiteMaaS",
        "metadata": {"name": name},
        "spec": spec,
    }


def get_cluster_object(cluster: Any, plural: str, name: str) -> dict[str, Any] | None:
    group = "oauth.openshift.io" if plural == "oauthclients" else "user.openshift.io"
    api = client.CustomObjectsApi(cluster.api_client())
    try:
        return api.get_cluster_custom_object(group, "v1", plural, name)
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise


def test_an_editor_cannot_reach_cluster_wide_objects_through_a_cr(cluster, editor: Editor):
    before = get_cluster_object(cluster, "groups", "litemaas-admins")
    attacks = {
        "join-admins": (
            {"groups": {"manage": True, "admins": [editor.user]}},
            ["spec.groups", "litemaas-admins", editor.user, "update"],
        ),
        "oauthclient-mode": (
            {"auth": {"mode": "oauthclient"}},
            ["spec.auth", "create OAuthClients", editor.user],
        ),
        "take-grafana-sso": (
            {"auth": {"oauthClient": {"name": "grafana-sso"}}},
            ["spec.auth", "create OAuthClients"],
        ),
    }
    for name, (spec, words) in attacks.items():
        out = editor.apply(cr(name, spec))
        assert out.returncode != 0, f"{name} was admitted"
        for word in words:
            assert word in out.stderr, f"{name}: {word!r} not in {out.stderr!r}"
    # Nothing was created, and the shared Group is untouched.
    assert editor.kubectl("get", "litemaases", "-o", "name").stdout.strip() == ""
    after = get_cluster_object(cluster, "groups", "litemaas-admins")
    assert (before or {}).get("metadata", {}).get("resourceVersion") == (after or {}).get(
        "metadata", {}
    ).get("resourceVersion")
    # A plain CR (ServiceAccount login, no Groups) is the editor's to make.
    out = editor.apply(cr("plain", {}))
    assert out.returncode == 0, out.stderr


def test_an_editor_may_change_an_admins_cr_except_its_cluster_wide_parts(
    cluster, crs: CRs, editor: Editor
):
    body = cr("shared", {"groups": {"manage": True, "admins": ["boss"]}})
    crs.create(body)  # a cluster administrator's CR: admitted
    live = crs.get("shared")
    assert live is not None

    ok = editor.kubectl(
        "patch", "litemaases/shared", "--type=merge", "-p",
        json.dumps({"spec": {"backend": {"logLevel": "debug"}}}),
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    for patch, word in (
        ({"groups": {"admins": ["boss", editor.user]}}, "spec.groups"),
        ({"groups": {"manage": False}}, "spec.groups"),
        ({"auth": {"mode": "oauthclient"}}, "spec.auth"),
        ({"routing": {"frontend": {"host": "x.example.com"}}, "auth": {"mode": "oauthclient"}},
         "spec.auth"),
    ):  # fmt: skip
        out = editor.kubectl(
            "patch", "litemaases/shared", "--type=merge", "-p", json.dumps({"spec": patch})
        )
        assert out.returncode != 0 and word in out.stderr, (patch, out.stderr)
    final = crs.get("shared")
    assert final["spec"]["groups"] == {"manage": True, "admins": ["boss"]}
    assert final["spec"]["backend"] == {"logLevel": "debug"}


def test_a_cr_cannot_take_over_an_oauthclient_it_did_not_create(
    cluster, crs: CRs, operator: OperatorProcess, namespace: str
):
    # Even a CR an administrator wrote (admitted by the policy) never adopts a client.
    api = client.CustomObjectsApi(cluster.api_client())
    name = f"grafana-sso-{namespace[-6:]}"
    original = {
        "apiVersion": "oauth.openshift.io/v1",
        "kind": "OAuthClient",
        "metadata": {"name": name},
        "secret": "grafana-client-secret-value",
        "redirectURIs": ["https://grafana.example.com/login/generic_oauth"],
        "grantMethod": "prompt",
    }
    created = api.create_cluster_custom_object("oauth.openshift.io", "v1", "oauthclients", original)
    try:
        body = sample("litemaas-cr")
        body["spec"]["auth"] = {"mode": "oauthclient", "oauthClient": {"name": name}}
        crs.create(body)
        stalled = crs.wait_condition("litemaas", "Stalled", "True")
        assert stalled["reason"] == "OAuthClientNameTaken"
        assert name in stalled["message"]
        auth = crs.condition("litemaas", "AuthReady")
        assert auth and auth["status"] == "False" and auth["reason"] == "OAuthClientNameTaken"
        live = get_cluster_object(cluster, "oauthclients", name)
        assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]

        crs.delete()
        crs.wait_gone()
        live = get_cluster_object(cluster, "oauthclients", name)
        assert live is not None, "the finalizer deleted a client it did not create"
        assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
        assert live["redirectURIs"] == original["redirectURIs"]
    finally:
        api.delete_cluster_custom_object("oauth.openshift.io", "v1", "oauthclients", name)


def test_a_member_added_by_hand_survives_the_cr(
    cluster, crs: CRs, operator: OperatorProcess, namespace: str
):
    api = client.CustomObjectsApi(cluster.api_client())
    carol, alice = (f"{n}-{namespace[-6:]}" for n in ("carol", "alice"))

    def admins() -> dict[str, Any] | None:
        return get_cluster_object(cluster, "groups", "litemaas-admins")

    # An administrator puts carol into litemaas-admins by hand.
    group = admins()
    if group is None:
        api.create_cluster_custom_object(
            "user.openshift.io", "v1", "groups",
            {"apiVersion": "user.openshift.io/v1", "kind": "Group",
             "metadata": {"name": "litemaas-admins"}, "users": [carol]},
        )  # fmt: skip
    else:
        group["users"] = sorted({*(group.get("users") or []), carol})
        api.replace_cluster_custom_object(
            "user.openshift.io", "v1", "groups", "litemaas-admins", group
        )

    body = sample("litemaas-cr")
    body["spec"]["groups"] = {"manage": True, "admins": [carol, alice]}
    crs.create(body)
    crs.wait_ready()
    wait_until(lambda: {carol, alice} <= set(admins()["users"]), 30, what="members added")
    record = admins()["metadata"]["annotations"][
        members_annotation(Instance("litemaas", namespace))
    ]
    assert json.loads(record) == [alice]  # carol was there before: not this CR's

    crs.delete()
    crs.wait_gone()
    wait_until(lambda: alice not in admins()["users"], 30, what="the CR's own member removed")
    assert carol in admins()["users"]
