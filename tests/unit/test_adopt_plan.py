"""Adoption's detection and plan, from installs shaped like upstream's Kustomize and Helm output.

Pure: each test lays the found objects out as a read of the namespace would give them.
"""

from __future__ import annotations

import json

import pytest

from litemaas_operator.adopt.detect import Found, RefusedError, detect
from litemaas_operator.adopt.plan import describe, executable, plan
from litemaas_operator.api import LiteMaaSSpec
from support.upstream import (
    OIDC_ISSUER,
    Values,
    bound,
    helm_install,
    kustomize_install,
    kustomize_namespace_labels,
    oauth_client,
    statefulset_claims,
)

NS = "team"


def kustomize_found(v: Values, **kw: object) -> Found:
    objs = kustomize_install(v, **kw)  # type: ignore[arg-type]
    objs = bound(
        objs + statefulset_claims(objs),
        {"postgres-storage-postgres-0": "pv-pg", "backend-backup": "pv-backup"},
    )
    groups = [
        {"metadata": {"name": "litemaas-admins"}, "users": ["alice", "carol"]},
        {"metadata": {"name": "litemaas-users"}, "users": ["dave"]},
    ]
    return Found.from_items(NS, objs, [oauth_client(v)], groups, kustomize_namespace_labels(v))


def helm_found(v: Values, release: str = "prod", **kw: object) -> Found:
    objs = helm_install(v, release, **kw)  # type: ignore[arg-type]
    full = release if "litemaas" in release else f"{release}-litemaas"
    objs = bound(
        objs + statefulset_claims(objs),
        {f"data-{full}-postgresql-0": "pv-pg", f"{full}-backend-backup": "pv-backup"},
    )
    return Found.from_items(NS, objs)


def test_kustomize_settings_and_credentials() -> None:
    v = Values(NS)
    d = detect(kustomize_found(v))
    s = d.settings
    assert d.layout.flavour == "kustomize"
    # The backend runs `:latest` (the guide's defect): the version comes from the Namespace.
    assert (s.version, s.version_source) == ("0.4.0", f"Namespace/{NS} label")
    assert s.frontend_host == f"litemaas-{NS}.apps.example.com"
    assert s.litellm_host == f"litellm-{NS}.apps.example.com"
    assert (s.auth_mode, s.oauth_client_id) == ("oauthclient", "litemaas-oauth-client")
    assert s.initial_admin_users == ["alice", "bob"]
    assert s.redis is True
    assert (s.database_size, s.backup_size) == ("10Gi", "5Gi")
    assert d.postgres_claim == "postgres-storage-postgres-0"
    assert (d.postgres_volume, d.backup_volume) == ("pv-pg", "pv-backup")
    assert d.oauth_client == "litemaas-oauth-client"
    values = {k: val for k, (val, _) in d.credentials.items()}
    assert values == {
        "postgres-password": v.pg_password,
        "jwt-secret": v.jwt_secret,
        "oauth-client-secret": v.oauth_client_secret,
        "admin-api-keys": v.admin_api_key,
        "litellm-master-key": v.litellm_api_key,
        "backend-encryption-key": v.litellm_master_key,
        "litellm-ui-password": v.ui_password,
        # No salt key was ever set: LiteLLM encrypted with its master key, so the salt key the
        # operator sets must be that value.
        "litellm-salt-key": v.litellm_api_key,
    }


def test_kustomize_plan_cr_is_valid_and_complete() -> None:
    v = Values(NS)
    p = plan(detect(kustomize_found(v)), "litemaas")
    spec = p.cr["spec"]
    LiteMaaSSpec.model_validate(spec)
    assert spec["version"] == "0.4.0"
    assert spec["auth"] == {"mode": "oauthclient", "initialAdminUsers": ["alice", "bob"]}
    assert spec["routing"]["frontend"]["host"] == f"litemaas-{NS}.apps.example.com"
    assert spec["routing"]["litellm"]["host"] == f"litellm-{NS}.apps.example.com"
    assert spec["redis"] == {"enabled": True}
    assert spec["database"]["storage"]["size"] == "10Gi"
    assert spec["backend"]["backupStorage"]["size"] == "5Gi"
    assert spec["groups"] == {
        "manage": True,
        "admins": ["alice", "carol"],
        "readonly": [],
        "users": ["dave"],
    }
    assert p.generated == ["redis-password", "config-hash-key"]
    old = dict(p.replaced)
    assert old["StatefulSet/postgres"] == "StatefulSet/litemaas-postgres"
    assert old["PersistentVolumeClaim/postgres-storage-postgres-0"] == (
        "PersistentVolumeClaim/data-litemaas-postgres-0"
    )
    # The Route `litemaas` keeps its name (the CR is called litemaas): re-created in place.
    assert old["Route/litemaas"].startswith("Route/litemaas (same name")
    assert any(k.startswith("OAuthClient/litemaas-oauth-client") for k in old)
    assert any("PersistentVolume/pv-pg" in k for k in p.kept)
    # Every object of the old install has a fate.
    fates = set(old) | {d.split(" ")[0] for d in p.deleted}
    assert {str(r) for r in p.detected.present} <= fates
    text = describe(p)
    assert "Expected downtime" in text and "auth mode:           oauthclient" in text
    for secret in p.credential_values().values():
        assert secret not in text, "a credential value was printed"


def test_helm_serviceaccount_release() -> None:
    v = Values(NS)
    d = detect(helm_found(v))
    s = d.settings
    assert (d.layout.flavour, d.layout.release) == ("helm", "prod")
    assert s.version == "0.4.0" and s.version_source.endswith("image tag")
    assert s.auth_mode == "serviceaccount"
    assert s.frontend_host == f"prod-litemaas-{NS}.apps.example.com"
    assert s.initial_admin_users == ["alice", "bob"]  # from the chart's ConfigMap
    assert d.postgres_claim == "data-prod-litemaas-postgresql-0"
    assert s.database_size == "20Gi"
    assert "oauth-client-secret" not in d.credentials
    p = plan(d, "litemaas")
    LiteMaaSSpec.model_validate(p.cr["spec"])
    assert p.cr["spec"]["auth"]["mode"] == "serviceaccount"
    assert "oauth-client-secret" in p.generated


def test_helm_release_named_litemaas_collides_with_operator_names() -> None:
    v = Values(NS)
    p = plan(detect(helm_found(v, release="litemaas")), "litemaas")
    old = dict(p.replaced)
    # Helm's backend Deployment and backup PVC carry the very names the operator uses.
    assert old["Deployment/litemaas-backend"].startswith("Deployment/litemaas-backend (same")
    # ... and the backup claim is simply taken over, not re-created.
    assert "PersistentVolumeClaim/litemaas-backend-backup" not in old
    assert any(k.startswith("PersistentVolumeClaim/litemaas-backend-backup (same") for k in p.kept)
    bind = next(st for st in p.steps if st.id == "bind")
    assert "litemaas-backend-backup" not in bind.description


def test_redis_off_is_read() -> None:
    d = detect(helm_found(Values(NS), redis=False))
    assert d.settings.redis is False
    assert plan(d).cr["spec"]["redis"] == {"enabled": False}


def test_nothing_there_is_refused() -> None:
    with pytest.raises(RefusedError, match="no LiteMaaS install recognised"):
        detect(Found.from_items(NS, []))


@pytest.mark.parametrize("gone", ["backend-secret", "postgres"])
def test_half_kustomize_install_names_what_is_missing(gone: str) -> None:
    found = kustomize_found(Values(NS))
    for kind in ("Secret", "StatefulSet", "Service"):
        found.objects.get(kind, {}).pop(gone, None)
    with pytest.raises(RefusedError, match=rf"half Kustomize-guide install.*{gone}"):
        detect(found)


def test_missing_postgres_claim_is_refused() -> None:
    found = kustomize_found(Values(NS))
    found.objects["PersistentVolumeClaim"].pop("postgres-storage-postgres-0")
    with pytest.raises(RefusedError, match="PersistentVolumeClaim/postgres-storage-postgres-0"):
        detect(found)


def test_two_installs_need_a_choice() -> None:
    v = Values(NS)
    objs = kustomize_install(v) + helm_install(v, "prod")
    found = Found.from_items(NS, objs + statefulset_claims(objs))
    with pytest.raises(RefusedError, match="more than one install"):
        detect(found)
    assert detect(found, "helm", "prod").layout.release == "prod"
    assert detect(found, "kustomize").layout.flavour == "kustomize"


def test_asked_for_helm_but_only_kustomize() -> None:
    with pytest.raises(RefusedError, match="0 Helm releases"):
        detect(kustomize_found(Values(NS)), "helm")


def test_executable_plan_names_every_old_object_once() -> None:
    p = plan(detect(kustomize_found(Values(NS))), "litemaas")
    run = executable(p)
    assert run["volumes"] == [
        {"old": "postgres-storage-postgres-0", "new": "data-litemaas-postgres-0", "pv": "pv-pg"},
        {"old": "backend-backup", "new": "litemaas-backend-backup", "pv": "pv-backup"},
    ]
    assert run["clashing"] == ["Route/litemaas"]
    assert "StatefulSet/postgres" in run["stop"] and "Deployment/backend" in run["stop"]
    # Claims are handled by the volume steps, never by the clean-up.
    assert not [r for r in run["remove"] if r.startswith("PersistentVolumeClaim/")]
    old = {str(r) for r in p.detected.present if r.kind != "PersistentVolumeClaim"}
    assert set(run["remove"]) | set(run["clashing"]) == old
    assert run["oauthClient"] == "litemaas-oauth-client"
    assert run["cr"] == p.cr
    json.dumps(run)  # stored on the credentials Secret as JSON


def test_helm_release_on_plain_kubernetes_with_ingress_and_oidc() -> None:
    v = Values(NS, version="0.5.0")
    hosts = ("chat.example.org", "llm.example.org")
    found = helm_found(
        v, platform="kubernetes", hosts=hosts, redis_password="redis-pw-0123", tls_secret="web-tls"
    )
    d = detect(found)
    s = d.settings
    assert (s.routing, s.auth_mode, s.oauth_client_id) == ("ingress", "oidc", v.oauth_client_id)
    assert (s.frontend_host, s.litellm_host) == hosts
    assert d.credentials["oauth-client-secret"][0] == v.oauth_client_secret
    assert d.credentials["redis-password"][0] == "redis-pw-0123"
    p = plan(d, "litemaas")
    spec = p.cr["spec"]
    LiteMaaSSpec.model_validate(spec)
    assert spec["auth"]["oidc"] == {
        "issuer": OIDC_ISSUER,
        "clientId": v.oauth_client_id,
        "clientSecret": {"name": "litemaas-credentials", "key": "oauth-client-secret"},
        "groupsClaim": "groups",  # the chart's oauth.oidc.groupsClaim, as read
    }
    assert spec["routing"] == {
        "type": "ingress",
        "ingress": {"className": "nginx", "tlsSecretName": "web-tls"},
        "frontend": {"host": hosts[0]},
        "litellm": {"host": hosts[1]},
    }
    old = dict(p.replaced)
    assert old["Ingress/prod-litemaas"] == "Ingress/litemaas"
    assert old["Ingress/prod-litemaas-litellm"] == "Ingress/litemaas-litellm"
    assert "Secret/sh.helm.release.v1.prod.v1 (no successor needed)" in p.deleted
    assert "routing:             ingress (class nginx)" in describe(p)
    run = executable(p)
    assert {"Ingress/prod-litemaas", "Ingress/prod-litemaas-litellm"} <= set(run["remove"])


def test_ingress_without_tls_keeps_http() -> None:
    found = helm_found(Values(NS), platform="kubernetes", hosts=("a.example.org", "b.example.org"))
    assert plan(detect(found)).cr["spec"]["routing"]["ingress"] == {
        "className": "nginx",
        "tls": False,
    }


def test_helm_hook_and_network_policies_are_deleted_in_time() -> None:
    p = plan(detect(helm_found(Values(NS, version="0.5.0"), network_policy=True)))
    run = executable(p)
    # Helm keeps its hook objects after install: nothing of them may be left orphaned.
    for hook in ("Job/prod-litemaas-oauth-setup", "Role/prod-litemaas-hook"):
        assert hook in run["remove"]
    assert "RoleBinding/prod-litemaas-hook" in run["remove"]
    # A deny-all policy would isolate the operator's pods (never Ready): gone before "create".
    policies = {
        "NetworkPolicy/prod-litemaas-default-deny",
        "NetworkPolicy/prod-litemaas-postgresql",
    }
    assert policies <= set(run["clashing"])
    assert not policies & set(run["remove"])
    assert any(d.startswith("NetworkPolicy/prod-litemaas-default-deny (before") for d in p.deleted)


def test_half_helm_release_names_what_is_missing() -> None:
    found = helm_found(Values(NS))
    found.objects["Secret"].pop("prod-litemaas-backend")
    found.objects["Deployment"].pop("prod-litemaas")
    with pytest.raises(RefusedError, match="half Helm release prod") as err:
        detect(found)
    assert "Secret/prod-litemaas-backend" in str(err.value)
    assert "Deployment/prod-litemaas" in str(err.value)


def test_kustomize_oidc_overlay() -> None:
    v = Values(NS)
    objs = kustomize_install(v, oidc=True)
    found = Found.from_items(NS, objs + statefulset_claims(objs), [], [])
    d = detect(found)
    assert (d.settings.auth_mode, d.oauth_client) == ("oidc", None)
    assert d.credentials["oauth-client-secret"][0] == v.oauth_client_secret
    spec = plan(d).cr["spec"]
    LiteMaaSSpec.model_validate(spec)
    assert spec["auth"]["oidc"] == {
        "issuer": OIDC_ISSUER,
        "clientId": v.oauth_client_id,
        "clientSecret": {"name": "litemaas-credentials", "key": "oauth-client-secret"},
        "groupsClaim": "roles",
        "scopes": "openid profile email",
    }


def test_endpoint_annotations_are_kept_without_tool_bookkeeping() -> None:
    """cert-manager's issuer or a router timeout set on the old Ingress stays on the new one."""
    hosts = ("chat.example.org", "llm.example.org")
    found = helm_found(Values(NS), platform="kubernetes", hosts=hosts, tls_secret="web-tls")
    web, llm = sorted(found.all("Ingress"), key=lambda o: o["metadata"]["name"])
    web["metadata"]["annotations"] = {
        "cert-manager.io/cluster-issuer": "letsencrypt",
        "meta.helm.sh/release-name": "prod",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    llm["metadata"]["annotations"] = {"nginx.ingress.kubernetes.io/proxy-read-timeout": "600"}
    routing = plan(detect(found)).cr["spec"]["routing"]
    assert routing["frontend"] == {
        "host": hosts[0],
        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
    }
    assert routing["litellm"] == {
        "host": hosts[1],
        "annotations": {"nginx.ingress.kubernetes.io/proxy-read-timeout": "600"},
    }
    LiteMaaSSpec.model_validate(plan(detect(found)).cr["spec"])
