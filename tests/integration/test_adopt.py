"""``litemaas-operator adopt`` on a real API server: it recognises installs shaped like the
upstream Kustomize guide's and Helm chart's output, prints the plan with the settings it read,
refuses unknown and half installs with exit code 2 naming what is missing, and writes nothing
(every resourceVersion stays as it was).

The installs are laid down by tests/support/upstream.py; the StatefulSet's claim is provisioned
by the harness (a hostPath PV), and a marker file goes into that PV's directory.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.waiting import wait_until
from litemaas_operator.adopt.command import Reader
from litemaas_operator.cli import main
from support.upstream import (
    Values,
    helm_install,
    kustomize_install,
    kustomize_namespace_labels,
    oauth_client,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    # Routes, OAuthClients and Groups: the openshift flavour holds everything adoption reads.
    pytest.mark.parametrize("cluster", ["openshift"], indirect=True),
]

NAMESPACED = [
    ("v1", "secrets"),
    ("v1", "configmaps"),
    ("v1", "services"),
    ("v1", "serviceaccounts"),
    ("v1", "persistentvolumeclaims"),
    ("apps/v1", "deployments"),
    ("apps/v1", "statefulsets"),
    ("route.openshift.io/v1", "routes"),
]


def _path(api_version: str, plural: str, ns: str | None = None) -> str:
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{prefix}/namespaces/{ns}/{plural}" if ns else f"{prefix}/{plural}"


def versions(cluster: Any, ns: str) -> dict[str, str]:
    """resourceVersion of everything adoption could touch: the namespace's objects, the
    Namespace, PersistentVolumes, OAuthClients, Groups, and any LiteMaaS resource."""
    out = {}
    paths = [_path(v, p, ns) for v, p in NAMESPACED]
    paths += [
        f"/api/v1/namespaces/{ns}",
        "/api/v1/persistentvolumes",
        "/apis/oauth.openshift.io/v1/oauthclients",
        "/apis/user.openshift.io/v1/groups",
    ]
    reader = Reader(str(cluster.kubeconfig))
    try:
        for path in paths:
            data = reader.get(path)
            assert data is not None, path
            for item in data.get("items", [data]):
                meta = item["metadata"]
                out[f"{path}/{meta['name']}"] = meta["resourceVersion"]
    finally:
        reader.close()
    return out


def settled(cluster: Any, ns: str) -> dict[str, str]:
    """The versions once controllers (StatefulSet, Deployment, PV binder) stopped writing."""
    last: dict[str, dict[str, str]] = {"v": {}}

    def quiet() -> bool:
        now = versions(cluster, ns)
        same = now == last["v"]
        last["v"] = now
        if not same:
            time.sleep(2)
        return same

    wait_until(quiet, 90, what="the namespace's objects to stop changing")
    return last["v"]


def create(cluster: Any, ns: str, objs: list[dict[str, Any]]) -> None:
    out = cluster.kubectl(
        "create", "-n", ns, "-f", "-", input=yaml.safe_dump_all(objs), check=False
    )
    assert out.returncode == 0, out.stderr


def bound_volume(cluster: Any, ns: str, claim: str) -> client.V1PersistentVolume:
    """Wait for the StatefulSet's claim to be Bound; return its PV."""
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)

        def phase() -> str | None:
            try:
                pvc = core.read_namespaced_persistent_volume_claim(claim, ns)
            except client.ApiException:
                return None
            return pvc.spec.volume_name if pvc.status.phase == "Bound" else None

        volume = wait_until(phase, 120, what=f"PVC {claim} Bound")
        return core.read_persistent_volume(volume)


def adopt(cluster: Any, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["adopt", "--kubeconfig", str(cluster.kubeconfig), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_kustomize_install_dry_run(
    cluster: Any, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    v = Values(namespace, domain=cluster.domain, oauth_client_id=f"litemaas-{namespace}")
    cluster.kubectl(
        "label",
        "namespace",
        namespace,
        "--overwrite",
        *(f"{k}={val}" for k, val in kustomize_namespace_labels(v).items()),
    )
    create(cluster, namespace, kustomize_install(v))
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(oauth_client(v)))
    pv = bound_volume(cluster, namespace, "postgres-storage-postgres-0")
    marker = Path(pv.spec.host_path.path) / "pgdata" / "ADOPTION_MARKER"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(namespace)
    try:
        before = settled(cluster, namespace)
        code, out, err = adopt(cluster, capsys, "-n", namespace, "--dry-run")
        assert code == 0, err
        assert "Found the upstream Kustomize guide's install" in out
        assert "version:             0.4.0" in out
        assert f"frontend host:       litemaas-{namespace}.{cluster.domain}" in out
        assert f"OAuth client id:     litemaas-{namespace}" in out
        assert "initial admin users: alice, bob" in out
        assert "Redis:               on" in out
        assert f"PV {pv.metadata.name}" in out
        assert "Expected downtime" in out and "Dry run: nothing was changed." in out
        cr = yaml.safe_load(out.split("LiteMaaS to create:\n")[1].split("\n\n")[0])
        assert cr["spec"]["routing"]["frontend"]["host"] == f"litemaas-{namespace}.{cluster.domain}"
        assert cr["spec"]["auth"]["mode"] == "oauthclient"
        for secret in (
            v.pg_password,
            v.jwt_secret,
            v.oauth_client_secret,
            v.admin_api_key,
            v.litellm_api_key,
            v.ui_password,
        ):
            assert secret not in out + err, "a credential value was printed"
        # Without --dry-run it still only plans (execution is not there yet), and says so.
        code, _, err = adopt(cluster, capsys, "-n", namespace)
        assert code == 3 and "not implemented" in err
        assert versions(cluster, namespace) == before
        assert marker.read_text() == namespace
    finally:
        cluster.kubectl("delete", "oauthclient", v.oauth_client_id, "--ignore-not-found")


def test_helm_release_dry_run(
    cluster: Any, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    v = Values(namespace, domain=cluster.domain, version="0.5.0")
    # The chart's route.*.host: the generated hosts would exceed 63 characters here.
    hosts = (f"chat-{namespace[-6:]}.{cluster.domain}", f"llm-{namespace[-6:]}.{cluster.domain}")
    create(cluster, namespace, helm_install(v, "prod", hosts=hosts))
    bound_volume(cluster, namespace, "data-prod-litemaas-postgresql-0")
    before = settled(cluster, namespace)
    code, out, err = adopt(cluster, capsys, "-n", namespace, "--from", "helm", "--dry-run")
    assert code == 0, err
    assert "upstream Helm chart release prod" in out
    assert "version:             0.5.0" in out
    assert "auth mode:           serviceaccount" in out
    assert "database volume:     20Gi" in out
    assert f"frontend host:       {hosts[0]}" in out
    assert f"LiteLLM host:        {hosts[1]}" in out
    assert "Deployment/prod-litemaas-backend -> Deployment/litemaas-backend" in out
    assert versions(cluster, namespace) == before


def test_half_and_unknown_installs_are_refused(
    cluster: Any, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = adopt(cluster, capsys, "-n", namespace, "--dry-run")
    assert code == 2 and out == ""
    assert "no LiteMaaS install recognised" in err
    v = Values(namespace, domain=cluster.domain)
    half = [
        o
        for o in kustomize_install(v)
        if (o["kind"], o["metadata"]["name"])
        not in (("Secret", "backend-secret"), ("Deployment", "frontend"))
    ]
    create(cluster, namespace, half)
    bound_volume(cluster, namespace, "postgres-storage-postgres-0")
    before = settled(cluster, namespace)
    code, out, err = adopt(cluster, capsys, "-n", namespace)
    assert code == 2 and out == ""
    assert "half Kustomize-guide install" in err
    assert "Secret/backend-secret" in err and "Deployment/frontend" in err
    assert versions(cluster, namespace) == before
