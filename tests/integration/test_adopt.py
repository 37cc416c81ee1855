"""``litemaas-operator adopt`` on a real API server: it recognises installs shaped like the
upstream Kustomize guide's and Helm chart's output, prints the plan with the settings it read,
refuses unknown and half installs with exit code 2 naming what is missing, and writes nothing
(every resourceVersion stays as it was).

The installs are laid down by tests/support/upstream.py; the StatefulSet's claim is provisioned
by the harness (a hostPath PV), and a marker file goes into that PV's directory.
"""

from __future__ import annotations

import base64
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.waiting import wait_until
from litemaas_operator.adopt.command import Reader
from litemaas_operator.cli import main
from litemaas_operator.render.auth import REDIRECT_ANNOTATION
from support.crs import client_name
from support.upstream import (
    OIDC_ISSUER,
    Values,
    helm_install,
    kustomize_install,
    kustomize_namespace_labels,
    oauth_client,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
# Routes, OAuthClients and Groups: the openshift flavour holds what the upstream guides make
# there; the Helm chart's plain-Kubernetes install (Ingresses, OIDC) runs on the other.
on_openshift = pytest.mark.parametrize("cluster", ["openshift"], indirect=True)
on_kubernetes = pytest.mark.parametrize("cluster", ["kubernetes"], indirect=True)

NAMESPACED = [
    ("v1", "secrets"),
    ("v1", "configmaps"),
    ("v1", "services"),
    ("v1", "serviceaccounts"),
    ("v1", "persistentvolumeclaims"),
    ("apps/v1", "deployments"),
    ("apps/v1", "statefulsets"),
    ("networking.k8s.io/v1", "ingresses"),
    ("networking.k8s.io/v1", "networkpolicies"),
    ("batch/v1", "jobs"),
    ("rbac.authorization.k8s.io/v1", "roles"),
    ("rbac.authorization.k8s.io/v1", "rolebindings"),
    ("route.openshift.io/v1", "routes"),
    ("litemaas.io/v1alpha1", "litemaases"),
]
GROUPS = ("litemaas-admins", "litemaas-readonly", "litemaas-users")


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
    openshift_only = ("/route.openshift.io/", "/oauth.openshift.io/", "/user.openshift.io/")
    reader = Reader(str(cluster.kubeconfig))
    try:
        for path in paths:
            data = reader.get(path)
            if data is None and (
                "/litemaas.io/" in path
                or (cluster.flavour != "openshift" and any(a in path for a in openshift_only))
            ):
                continue  # that API is not served here (no CRD yet, or plain Kubernetes)
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


@on_openshift
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


@on_openshift
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


@on_openshift
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


def _group_users(cluster: Any, name: str) -> list[str]:
    out = cluster.kubectl("get", "group", name, "-o", "jsonpath={.users}", check=False)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout or "[]") or []


def _edit_group(cluster: Any, name: str, add: list[str] = (), remove: list[str] = ()) -> None:  # type: ignore[assignment]
    """Add or remove members by hand (read, change, replace; the Group is made when missing)."""
    with cluster.api_client() as api:
        custom = client.CustomObjectsApi(api)
        args = ("user.openshift.io", "v1", "groups")
        for _ in range(5):
            try:
                group = custom.get_cluster_custom_object(*args, name)
            except client.ApiException as err:
                if err.status != 404:
                    raise
                if add:
                    body = {"apiVersion": "user.openshift.io/v1", "kind": "Group"}
                    custom.create_cluster_custom_object(
                        *args, {**body, "metadata": {"name": name}, "users": list(add)}
                    )
                return
            users = [u for u in group.get("users") or [] if u not in remove]
            group["users"] = users + [u for u in add if u not in users]
            try:
                custom.replace_cluster_custom_object(*args, name, group)
                return
            except client.ApiException as err:
                if err.status != 409:
                    raise
        raise AssertionError(f"Group {name} kept changing")


STEP_LINE = re.compile(r"^\[(\d+)/(\d+)\] ")
WRITE = "  + "  # how adopt logs each write it made


def _adopt_killed_at_every_step(
    cluster: Any, ns: str, between: Callable[[str], None] = lambda point: None
) -> tuple[list[str], str]:
    """Run ``adopt`` again and again, SIGKILLing each run at the next point not yet killed at:
    right after a step reports done, or right after the first write of a step (half-way through
    a step that writes several objects). Every run after the first resumes the stored plan.

    Returns the kill points, in order, and the output of the run that finished.
    """
    finished = 0  # the last step a run was killed right after
    halfway: set[int] = set()  # steps a run was killed in, after a write
    kills: list[str] = []
    for _ in range(30):
        proc = _adopt_process(cluster, ns)
        assert proc.stdout is not None
        seen: list[str] = []
        point = None
        step = 0  # the last step this run reported done
        for line in proc.stdout:
            seen.append(line)
            if m := STEP_LINE.match(line):
                step = int(m.group(1))
                if finished < step < int(m.group(2)):
                    point, finished = f"after step {step}", step
                    break
            elif line.startswith(WRITE) and step + 1 not in halfway:  # a write, logged
                point = f"in step {step + 1}"
                halfway.add(step + 1)
                break
        if point is not None:
            proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=400)
        out = "".join(seen) + rest
        if point is None:
            assert proc.returncode == 0, out
            return kills, out
        assert proc.returncode == -signal.SIGKILL, out
        kills.append(point)
        between(point)
    raise AssertionError(f"the adoption never finished; killed {kills}")


def _old_objects_left(cluster: Any, ns: str, install: list[dict[str, Any]]) -> list[str]:
    """Objects of the old install still there (the operator's own of the same name aside)."""
    left = []
    for obj in install:
        kind, name = obj["kind"], obj["metadata"]["name"]
        got = cluster.kubectl("get", kind.lower(), name, "-n", ns, "-o", "yaml", check=False)
        if got.returncode != 0:
            continue
        labels = yaml.safe_load(got.stdout)["metadata"].get("labels") or {}
        if labels.get("app.kubernetes.io/managed-by") != "litemaas-operator":
            left.append(f"{kind}/{name}")
    return left


def _second_run_changes_nothing(cluster: Any, ns: str, *args: str) -> None:
    before = settled(cluster, ns)
    proc = _adopt_process(cluster, ns, *args)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "Resuming." in out
    assert not [line for line in out.splitlines() if line.startswith(WRITE)], out
    assert versions(cluster, ns) == before


@on_openshift
@pytest.mark.timeout(900)
def test_kustomize_adoption_killed_at_every_step_keeps_everything(
    cluster: Any, namespace: str, operator: Any, crs: Any, capsys: pytest.CaptureFixture[str]
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
    tag = namespace[-6:]
    members = {group: [f"{group.split('-')[1]}-{tag}"] for group in GROUPS}
    late = f"late-{tag}"
    front = f"litemaas-{namespace}.{cluster.domain}"
    llm = f"litellm-{namespace}.{cluster.domain}"
    try:
        for group, users in members.items():
            _edit_group(cluster, group, add=users)
        pv = bound_volume(cluster, namespace, "postgres-storage-postgres-0")
        backup_pv = bound_volume(cluster, namespace, "backend-backup")
        marker = Path(pv.spec.host_path.path) / "pgdata" / "ADOPTION_MARKER"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(namespace)

        unchanged_by_dry_run = []

        def dry_run_midway(point: str) -> None:
            # Half-way, with a stored plan: --dry-run shows it and still writes nothing.
            if point == "after step 3":
                before = settled(cluster, namespace)
                code, out, err = adopt(cluster, capsys, "-n", namespace, "--dry-run")
                assert code == 0 and "its stored plan" in out, out + err
                unchanged_by_dry_run.append(versions(cluster, namespace) == before)

        kills, out = _adopt_killed_at_every_step(cluster, namespace, dry_run_midway)
        print(f"adoption killed: {kills}")
        assert [k for k in kills if k.startswith("after")] == [
            f"after step {i}" for i in range(1, 8)
        ], kills
        # Half-way kills: between two writes of a step (the timing of a SIGKILL may let a
        # step with few writes finish first, so not every step is required).
        assert len([k for k in kills if k.startswith("in")]) >= 3, kills
        assert unchanged_by_dry_run == [True]
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
        # The three Groups are taken over with their members.
        cr = crs.get("litemaas")
        assert cr is not None
        for group, users in members.items():
            assert set(users) <= set(_group_users(cluster, group)), group
            assert set(users) <= set(cr["spec"]["groups"][group.split("-")[1]]), group
        # Nothing of the old install is left but what the plan keeps.
        assert _old_objects_left(cluster, namespace, install) == []
        assert (
            cluster.kubectl(
                "get", "pvc", "postgres-storage-postgres-0", "-n", namespace, check=False
            ).returncode
            != 0
        )
        assert cluster.kubectl("get", "oauthclient", v.oauth_client_id, check=False).returncode != 0

        # A second run finds everything done and changes nothing.
        _second_run_changes_nothing(cluster, namespace)

        # The members were there before the operator: deleting the LiteMaaS leaves them, and
        # one added by hand since.
        _edit_group(cluster, "litemaas-users", add=[late])
        crs.delete("litemaas")
        crs.wait_gone("litemaas", timeout=120)
        for group, users in members.items():
            assert set(users) <= set(_group_users(cluster, group)), group
        assert late in _group_users(cluster, "litemaas-users")
    finally:
        cluster.kubectl("delete", "oauthclient", v.oauth_client_id, "--ignore-not-found")
        for group, users in members.items():
            _edit_group(cluster, group, remove=[*users, late])


def _downtime(out: str) -> None:
    """Print the downtime the run measured (read from the test log for docs/adoption.md)."""
    for line in out.splitlines():
        if line.startswith("[7/8]"):
            print(f"adoption downtime: {line}")


@on_openshift
@pytest.mark.timeout(600)
def test_helm_adoption_keeps_everything(
    cluster: Any, namespace: str, operator: Any, crs: Any
) -> None:
    v = Values(namespace, domain=cluster.domain, version="0.5.0")
    hosts = (f"chat-{namespace[-6:]}.{cluster.domain}", f"llm-{namespace[-6:]}.{cluster.domain}")
    install = helm_install(
        v, "prod", hosts=hosts, redis_password="redis-pass-0123456789", network_policy=True
    )
    create(cluster, namespace, install)
    admins = [f"admin-{namespace[-6:]}"]
    try:
        _edit_group(cluster, "litemaas-admins", add=admins)
        pv = bound_volume(cluster, namespace, "data-prod-litemaas-postgresql-0")
        backup_pv = bound_volume(cluster, namespace, "prod-litemaas-backend-backup")
        marker = Path(pv.spec.host_path.path) / "pgdata" / "ADOPTION_MARKER"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("helm")
        proc = _adopt_process(cluster, namespace, "--release", "prod")
        out, _ = proc.communicate(timeout=500)
        assert proc.returncode == 0, out
        _downtime(out)
        with cluster.api_client() as api:
            core = client.CoreV1Api(api)
            custom = client.CustomObjectsApi(api)
            claim = core.read_namespaced_persistent_volume_claim(
                "data-litemaas-postgres-0", namespace
            )
            assert claim.spec.volume_name == pv.metadata.name
            assert marker.read_text() == "helm"
            backup = core.read_namespaced_persistent_volume_claim(
                "litemaas-backend-backup", namespace
            )
            assert backup.spec.volume_name == backup_pv.metadata.name
            store = _secret_values(core, "litemaas-credentials", namespace)
            assert store["postgres-password"] == v.pg_password
            assert store["jwt-secret"] == v.jwt_secret
            assert store["admin-api-keys"] == v.admin_api_key
            assert store["litellm-master-key"] == v.litellm_api_key
            assert store["backend-encryption-key"] == v.litellm_master_key
            assert store["litellm-ui-password"] == v.ui_password
            assert store["litellm-salt-key"] == v.litellm_api_key
            assert store["redis-password"] == "redis-pass-0123456789"
            cr = custom.get_namespaced_custom_object(
                "litemaas.io", "v1alpha1", namespace, "litemaases", "litemaas"
            )
            assert cr["spec"]["auth"]["mode"] == "serviceaccount"
            routes = {
                r["metadata"]["name"]: r["spec"].get("host")
                for r in custom.list_namespaced_custom_object(
                    "route.openshift.io", "v1", namespace, "routes"
                )["items"]
            }
            assert routes == {"litemaas": hosts[0], "litemaas-litellm": hosts[1]}
            # ServiceAccount login: the operator's ServiceAccount is the OAuth client; its
            # redirect URI is the frontend host's callback.
            sa = core.read_namespaced_service_account("litemaas-litemaas", namespace)
            redirect = (sa.metadata.annotations or {}).get(REDIRECT_ANNOTATION, "")
            assert redirect.startswith(f"https://{hosts[0]}"), redirect
        assert set(admins) <= set(_group_users(cluster, "litemaas-admins"))
        assert _old_objects_left(cluster, namespace, install) == []
        old_claim = "data-prod-litemaas-postgresql-0"
        assert cluster.kubectl("get", "pvc", old_claim, "-n", namespace, check=False).returncode
        _second_run_changes_nothing(cluster, namespace)
    finally:
        _edit_group(cluster, "litemaas-admins", remove=admins)


@on_kubernetes
@pytest.mark.timeout(600)
def test_helm_adoption_on_plain_kubernetes_keeps_ingress_hosts(
    cluster: Any, namespace: str, operator: Any, crs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    v = Values(namespace, domain="apps.example.com", version="0.5.0")
    hosts = (f"chat-{namespace[-6:]}.example.org", f"llm-{namespace[-6:]}.example.org")
    install = helm_install(v, "team", platform="kubernetes", hosts=hosts, tls_secret="web-tls")
    create(cluster, namespace, install)
    pv = bound_volume(cluster, namespace, "data-team-litemaas-postgresql-0")
    backup_pv = bound_volume(cluster, namespace, "team-litemaas-backend-backup")
    marker = Path(pv.spec.host_path.path) / "pgdata" / "ADOPTION_MARKER"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("kubernetes")

    before = settled(cluster, namespace)
    code, out, err = adopt(cluster, capsys, "-n", namespace, "--dry-run")
    assert code == 0, err
    assert "upstream Helm chart release team" in out
    assert "routing:             ingress (class nginx)" in out
    assert "auth mode:           oidc" in out
    assert "Ingress/team-litemaas -> Ingress/litemaas" in out
    assert versions(cluster, namespace) == before

    proc = _adopt_process(cluster, namespace)
    out, _ = proc.communicate(timeout=500)
    assert proc.returncode == 0, out
    _downtime(out)
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        claim = core.read_namespaced_persistent_volume_claim("data-litemaas-postgres-0", namespace)
        assert claim.spec.volume_name == pv.metadata.name
        assert marker.read_text() == "kubernetes"
        backup = core.read_namespaced_persistent_volume_claim("litemaas-backend-backup", namespace)
        assert backup.spec.volume_name == backup_pv.metadata.name
        for volume in (pv, backup_pv):
            kept = core.read_persistent_volume(volume.metadata.name)
            assert kept.spec.persistent_volume_reclaim_policy == "Retain"
        store = _secret_values(core, "litemaas-credentials", namespace)
        assert store["postgres-password"] == v.pg_password
        assert store["jwt-secret"] == v.jwt_secret
        assert store["oauth-client-secret"] == v.oauth_client_secret
        assert store["admin-api-keys"] == v.admin_api_key
        assert store["litellm-master-key"] == v.litellm_api_key
        ingresses = {
            i.metadata.name: (i.spec.rules[0].host, i.spec.ingress_class_name, i.spec.tls)
            for i in client.NetworkingV1Api(api).list_namespaced_ingress(namespace).items
        }
        assert {k: (h, c) for k, (h, c, _) in ingresses.items()} == {
            "litemaas": (hosts[0], "nginx"),
            "litemaas-litellm": (hosts[1], "nginx"),
        }
        assert ingresses["litemaas"][2][0].secret_name == "web-tls"
        cr = crs.get("litemaas")
        assert cr["spec"]["auth"]["oidc"]["clientId"] == v.oauth_client_id
        # The backend keeps the same OIDC redirect (callback on the same frontend host).
        backend = _secret_values(core, "litemaas-backend", namespace)
        assert backend["oauth-callback-url"] == f"https://{hosts[0]}/api/auth/callback"
    assert _old_objects_left(cluster, namespace, install) == []
    _second_run_changes_nothing(cluster, namespace)


@on_openshift
@pytest.mark.timeout(600)
def test_helm_release_named_litemaas_is_taken_over_in_place(
    cluster: Any, namespace: str, operator: Any, crs: Any
) -> None:
    # The chart's names for release `litemaas` are the operator's own for LiteMaaS `litemaas`:
    # Deployment litemaas-backend, Route litemaas, PVC litemaas-backend-backup.
    v = Values(namespace, domain=cluster.domain, version="0.5.0")
    hosts = (f"chat-{namespace[-6:]}.{cluster.domain}", f"llm-{namespace[-6:]}.{cluster.domain}")
    install = helm_install(v, "litemaas", hosts=hosts)
    create(cluster, namespace, install)
    pv = bound_volume(cluster, namespace, "data-litemaas-postgresql-0")
    backup_pv = bound_volume(cluster, namespace, "litemaas-backend-backup")
    proc = _adopt_process(cluster, namespace)
    out, _ = proc.communicate(timeout=500)
    assert proc.returncode == 0, out
    assert "  + deleted Deployment/litemaas-backend" in out.split("[5/8]")[1].split("[6/8]")[0]
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        claim = core.read_namespaced_persistent_volume_claim("data-litemaas-postgres-0", namespace)
        assert claim.spec.volume_name == pv.metadata.name
        backup = core.read_namespaced_persistent_volume_claim("litemaas-backend-backup", namespace)
        assert backup.spec.volume_name == backup_pv.metadata.name
        backend = client.AppsV1Api(api).read_namespaced_deployment("litemaas-backend", namespace)
        assert backend.metadata.labels["app.kubernetes.io/managed-by"] == "litemaas-operator"
    # The backup claim was taken over in place (the operator's labels on it now); the rest of
    # the release is gone or re-created by the operator.
    assert _old_objects_left(cluster, namespace, install) == []
    _second_run_changes_nothing(cluster, namespace)


@on_openshift
@pytest.mark.timeout(600)
def test_kustomize_oidc_overlay_adoption(
    cluster: Any, namespace: str, operator: Any, crs: Any
) -> None:
    v = Values(namespace, domain=cluster.domain, version="0.5.0", oauth_client_id="litemaas")
    cluster.kubectl(
        "label",
        "namespace",
        namespace,
        "--overwrite",
        *(f"{k}={val}" for k, val in kustomize_namespace_labels(v).items()),
    )
    install = kustomize_install(v, oidc=True)
    create(cluster, namespace, install)
    pv = bound_volume(cluster, namespace, "postgres-storage-postgres-0")
    proc = _adopt_process(cluster, namespace)
    out, _ = proc.communicate(timeout=500)
    assert proc.returncode == 0, out
    front = f"litemaas-{namespace}.{cluster.domain}"
    cr = crs.get("litemaas")
    assert cr is not None and cr["spec"]["version"] == "0.5.0"
    assert cr["spec"]["auth"]["mode"] == "oidc"
    assert cr["spec"]["auth"]["oidc"]["issuer"] == OIDC_ISSUER
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        claim = core.read_namespaced_persistent_volume_claim("data-litemaas-postgres-0", namespace)
        assert claim.spec.volume_name == pv.metadata.name
        store = _secret_values(core, "litemaas-credentials", namespace)
        assert store["oauth-client-secret"] == v.oauth_client_secret
        assert store["jwt-secret"] == v.jwt_secret
        backend = _secret_values(core, "litemaas-backend", namespace)
        assert backend["oauth-callback-url"] == f"https://{front}/api/auth/callback"
        assert backend["oauth-client-id"] == "litemaas"
    # OIDC: no OAuthClient of the operator's.
    got = cluster.kubectl("get", "oauthclient", client_name(namespace), check=False)
    assert got.returncode != 0
    assert _old_objects_left(cluster, namespace, install) == []
