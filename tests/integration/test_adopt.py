"""``litemaas-operator adopt`` on a real API server: it recognises installs shaped like the
upstream Kustomize guide's and Helm chart's output, prints the plan with the settings it read,
refuses unknown and half installs with exit code 2 naming what is missing, and writes nothing
(every resourceVersion stays as it was).

The installs are laid down by tests/support/upstream.py; the StatefulSet's claim is provisioned
by the harness (a hostPath PV), and a marker file goes into that PV's directory.
"""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.waiting import wait_until
from litemaas_operator.adopt.command import Reader
from litemaas_operator.cli import main
from support.crs import client_name
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
                claim = (item.get("spec") or {}).get("claimRef") or {}
                if path.endswith("/persistentvolumes") and claim.get("namespace") != ns:
                    continue  # other tests' volumes come and go meanwhile
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


def _adopt_process(cluster: Any, ns: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "litemaas_operator",
            "adopt",
            "-n",
            ns,
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--timeout",
            "240",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _secret_values(core: client.CoreV1Api, name: str, ns: str) -> dict[str, str]:
    data = core.read_namespaced_secret(name, ns).data or {}
    return {k: base64.b64decode(val).decode() for k, val in data.items()}


def test_kustomize_adoption_survives_sigkill_and_keeps_everything(
    cluster: Any, namespace: str, operator: Any, crs: Any
) -> None:
    v = Values(namespace, domain=cluster.domain, oauth_client_id=f"litemaas-{namespace}")
    cluster.kubectl(
        "label",
        "namespace",
        namespace,
        "--overwrite",
        *(f"{k}={val}" for k, val in kustomize_namespace_labels(v).items()),
    )
    install = kustomize_install(v)
    create(cluster, namespace, install)
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(oauth_client(v)))
    admins = f"hand-{namespace[-6:]}"
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump(
            {
                "apiVersion": "user.openshift.io/v1",
                "kind": "Group",
                "metadata": {"name": "litemaas-admins"},
                "users": [admins],
            }
        ),
    )
    pv = bound_volume(cluster, namespace, "postgres-storage-postgres-0")
    backup_pv = bound_volume(cluster, namespace, "backend-backup")
    marker = Path(pv.spec.host_path.path) / "pgdata" / "ADOPTION_MARKER"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(namespace)
    front = f"litemaas-{namespace}.{cluster.domain}"
    llm = f"litellm-{namespace}.{cluster.domain}"
    try:
        # Killed right after "stop", then right after "bind": each run resumes the stored plan.
        for kill_after in ("[3/8]", "[5/8]"):
            proc = _adopt_process(cluster, namespace)
            seen = []
            assert proc.stdout is not None
            for line in proc.stdout:
                seen.append(line)
                if line.startswith(kill_after):
                    proc.send_signal(signal.SIGKILL)
                    break
            proc.wait(timeout=60)
            assert proc.returncode == -signal.SIGKILL, "".join(seen)
        proc = _adopt_process(cluster, namespace)
        out, _ = proc.communicate(timeout=400)
        assert proc.returncode == 0, out
        assert "Resuming." in out and "LiteMaaS/litemaas Ready" in out

        with cluster.api_client() as api:
            core = client.CoreV1Api(api)
            custom = client.CustomObjectsApi(api)
            # The operator's PostgreSQL claim is bound to the very same volume, data in place.
            claim = core.read_namespaced_persistent_volume_claim(
                "data-litemaas-postgres-0", namespace
            )
            assert claim.spec.volume_name == pv.metadata.name
            assert marker.read_text() == namespace
            backup = core.read_namespaced_persistent_volume_claim(
                "litemaas-backend-backup", namespace
            )
            assert backup.spec.volume_name == backup_pv.metadata.name
            assert (
                core.read_persistent_volume(pv.metadata.name).spec.persistent_volume_reclaim_policy
                == "Retain"
            )
            sts = client.AppsV1Api(api).read_namespaced_stateful_set("litemaas-postgres", namespace)
            assert sts.spec.volume_claim_templates[0].metadata.name == "data"
            # Every credential kept its exact value.
            store = _secret_values(core, "litemaas-credentials", namespace)
            assert store["postgres-password"] == v.pg_password
            assert store["jwt-secret"] == v.jwt_secret
            assert store["oauth-client-secret"] == v.oauth_client_secret
            assert store["admin-api-keys"] == v.admin_api_key
            assert store["litellm-master-key"] == v.litellm_api_key
            assert store["backend-encryption-key"] == v.litellm_master_key
            assert store["litellm-ui-password"] == v.ui_password
            assert store["litellm-salt-key"] == v.litellm_api_key
            # Hosts kept; the operator's OAuthClient redirects to the same frontend host.
            routes = {
                r["metadata"]["name"]: r["spec"].get("host")
                for r in custom.list_namespaced_custom_object(
                    "route.openshift.io", "v1", namespace, "routes"
                )["items"]
            }
            assert routes == {"litemaas": front, "litemaas-litellm": llm}
            oc = custom.get_cluster_custom_object(
                "oauth.openshift.io", "v1", "oauthclients", client_name(namespace)
            )
            assert f"https://{front}/api/auth/callback" in oc["redirectURIs"]
            assert oc["secret"] == v.oauth_client_secret
            group = custom.get_cluster_custom_object(
                "user.openshift.io", "v1", "groups", "litemaas-admins"
            )
            assert admins in group["users"]
        # Nothing of the old install is left but what the plan keeps.
        for obj in install:
            kind, name = obj["kind"], obj["metadata"]["name"]
            if (kind, name) == ("Route", "litemaas"):
                labels = yaml.safe_load(
                    cluster.kubectl("get", "route", name, "-n", namespace, "-o", "yaml").stdout
                )["metadata"]["labels"]
                assert labels["app.kubernetes.io/managed-by"] == "litemaas-operator"
                continue
            got = cluster.kubectl("get", kind.lower(), name, "-n", namespace, check=False)
            assert got.returncode != 0, f"{kind}/{name} left behind"
        assert (
            cluster.kubectl(
                "get", "pvc", "postgres-storage-postgres-0", "-n", namespace, check=False
            ).returncode
            != 0
        )
        assert cluster.kubectl("get", "oauthclient", v.oauth_client_id, check=False).returncode != 0
        # A second run finds everything done and changes nothing.
        proc = _adopt_process(cluster, namespace)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        assert "[6/8] remove-clashing: 0 deleted" in out
        assert "[8/8] cleanup: 0 old object(s) deleted" in out
    finally:
        cluster.kubectl("delete", "oauthclient", v.oauth_client_id, "--ignore-not-found")


def test_helm_adoption(cluster: Any, namespace: str, operator: Any, crs: Any) -> None:
    v = Values(namespace, domain=cluster.domain, version="0.5.0")
    hosts = (f"chat-{namespace[-6:]}.{cluster.domain}", f"llm-{namespace[-6:]}.{cluster.domain}")
    install = helm_install(v, "prod", hosts=hosts)
    create(cluster, namespace, install)
    pv = bound_volume(cluster, namespace, "data-prod-litemaas-postgresql-0")
    marker = Path(pv.spec.host_path.path) / "pgdata" / "ADOPTION_MARKER"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("helm")
    proc = _adopt_process(cluster, namespace, "--release", "prod")
    out, _ = proc.communicate(timeout=400)
    assert proc.returncode == 0, out
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        claim = core.read_namespaced_persistent_volume_claim("data-litemaas-postgres-0", namespace)
        assert claim.spec.volume_name == pv.metadata.name
        assert marker.read_text() == "helm"
        store = _secret_values(core, "litemaas-credentials", namespace)
        assert store["postgres-password"] == v.pg_password
        assert store["jwt-secret"] == v.jwt_secret
        assert store["litellm-master-key"] == v.litellm_api_key
        cr = client.CustomObjectsApi(api).get_namespaced_custom_object(
            "litemaas.io", "v1alpha1", namespace, "litemaases", "litemaas"
        )
        assert cr["spec"]["auth"]["mode"] == "serviceaccount"
        assert cr["spec"]["routing"]["frontend"]["host"] == hosts[0]
    for obj in install:
        kind, name = obj["kind"], obj["metadata"]["name"]
        got = cluster.kubectl("get", kind.lower(), name, "-n", namespace, check=False)
        assert got.returncode != 0, f"{kind}/{name} left behind"
    old_claim = "data-prod-litemaas-postgresql-0"
    assert cluster.kubectl("get", "pvc", old_claim, "-n", namespace, check=False).returncode != 0
