"""The install files are generated from one module and cover what the operator calls."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import yaml

from litemaas_operator import install
from litemaas_operator.api.crd import crd_manifest
from litemaas_operator.controller.kube import KINDS

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "hack"))
gen_install = importlib.import_module("gen_install")


def test_committed_install_files_match_the_generator() -> None:
    stale = [
        rel
        for rel, text in install.generated_files(REPO).items()
        if not (REPO / rel).exists() or (REPO / rel).read_text() != text
    ]
    assert stale == [], f"run hack/gen_install.py: {stale}"


def test_check_mode_names_a_stale_file(tmp_path: Path, monkeypatch, capsys) -> None:
    for rel, text in install.generated_files(REPO).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "manifests/rbac.yaml").write_text("# edited by hand\n")
    monkeypatch.setattr(gen_install, "ROOT", tmp_path)
    (tmp_path / "manifests/samples").mkdir(exist_ok=True)
    for sample in (REPO / "manifests/samples").glob("*.yaml"):
        (tmp_path / "manifests/samples" / sample.name).write_text(sample.read_text())
    assert gen_install.main(["--check"]) == 1
    assert "manifests/rbac.yaml" in capsys.readouterr().err


def test_the_crd_is_the_same_in_every_install_path() -> None:
    expected = crd_manifest()
    for rel in ("manifests/crd.yaml", "bundle/manifests/litemaas.io_litemaases.yaml"):
        assert yaml.safe_load((REPO / rel).read_text()) == expected, rel
    assert yaml.safe_load((REPO / "charts/operator/files/crd.yaml").read_text()) == expected
    assert yaml.safe_load((REPO / "crds/litemaas.io_litemaases.yaml").read_text()) == expected


def _granted(rules: list[dict]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for r in rules
        for group in r["apiGroups"]
        for resource in r["resources"]
        for verb in r["verbs"]
    }


# Kinds the operator reads and never writes (Pod: why a component's pods are stuck).
READ_ONLY_KINDS = {"Pod"}
# Granted in the operator's own namespace only, by name (install.leader_election_rules).
LEADER_KINDS = {"Lease"}


def test_every_namespaced_kind_the_client_knows_is_granted() -> None:
    granted = _granted(install.namespaced_rules())
    for name, kind in KINDS.items():
        if not kind.namespaced or name in LEADER_KINDS:
            continue
        group = kind.api_version.rpartition("/")[0]
        read_only = name in READ_ONLY_KINDS
        for verb in ("get", "list") if read_only else ("get", "list", "watch", "patch"):
            assert (group, kind.plural, verb) in granted, (name, verb)
        if read_only:
            writes = {"create", "update", "patch", "delete", "deletecollection"}
            assert not {v for g, r, v in granted if (g, r) == (group, kind.plural)} & writes


def test_every_cluster_scoped_kind_the_client_knows_is_granted_or_unused() -> None:
    granted = _granted(install.cluster_rules() + install.namespace_watch_rules())
    for name, kind in KINDS.items():
        if kind.namespaced:
            continue
        group = kind.api_version.rpartition("/")[0]
        assert any(g == group and r == kind.plural for g, r, _ in granted), name


def test_every_watch_is_granted_list_and_watch() -> None:
    """RBAC covers Kopf's watches (the CR) and the operator's own (children, read Secrets)."""
    import kopf  # registering the handlers needs Kopf's registry

    from litemaas_operator.controller import handlers  # noqa: F401
    from litemaas_operator.controller.watches import WATCHED_KINDS

    granted = _granted(install.namespaced_rules())
    registry = kopf.get_default_registry()
    kopf_watched = {
        (h.selector.group or "", h.selector.any_name)
        for h in registry._watching.get_all_handlers()
        if h.selector is not None
    }
    # The CR, backups and restores (which name their instance in the spec); children: not Kopf.
    assert kopf_watched == {
        ("litemaas.io", "litemaases"),
        ("litemaas.io", "litemaasbackups"),
        ("litemaas.io", "litemaasrestores"),
    }, kopf_watched
    own = {
        (KINDS[k].api_version.rpartition("/")[0], KINDS[k].plural)
        for k in WATCHED_KINDS
        if KINDS[k].namespaced
    }
    # 13 child kinds, ServiceMonitor and PodMonitor among them, the backups and restores, and
    # the instances' pods (for a pod getting stuck)
    assert len(own) == 16 and ("", "pods") in own, own
    for group, plural in kopf_watched | own:
        for verb in ("list", "watch"):
            assert (group, plural, verb) in granted, (group, plural, verb)
    # The cluster-scoped objects reconciles read from the cache: OAuthClients, the Groups and
    # the ingress config (the last two by name).
    cluster = {(KINDS[k].api_version.rpartition("/")[0], KINDS[k].plural)
               for k in WATCHED_KINDS if not KINDS[k].namespaced}  # fmt: skip
    assert cluster == {
        ("oauth.openshift.io", "oauthclients"),
        ("user.openshift.io", "groups"),
        ("config.openshift.io", "ingresses"),
    }, cluster
    cluster_granted = _granted(install.cluster_rules())
    for group, plural in cluster:
        for verb in ("list", "watch"):
            assert (group, plural, verb) in cluster_granted, (group, plural, verb)


def test_no_wildcards_and_no_dangerous_verbs() -> None:
    rules = install.namespaced_rules() + install.cluster_rules()
    for r in rules:
        assert "*" not in r["verbs"] + r["resources"] + r["apiGroups"], r
        assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(r["verbs"]), r
    # The CR's spec is never written (GitOps would see drift forever).
    assert ("litemaas.io", "litemaases", "update") not in _granted(rules)


def test_the_deployment_is_the_same_in_manifests_and_bundle() -> None:
    manifest = yaml.safe_load((REPO / "manifests/deployment.yaml").read_text())
    csv = yaml.safe_load(
        (REPO / "bundle/manifests/litemaas-operator.clusterserviceversion.yaml").read_text()
    )
    bundled = csv["spec"]["install"]["spec"]["deployments"][0]["spec"]
    # Only WATCH_NAMESPACE differs: OLM's target namespaces instead of "all".
    for spec in (manifest["spec"], bundled):
        spec["template"]["spec"]["containers"][0]["env"].pop(0)
    assert manifest["spec"] == bundled


def test_the_chart_version_follows_the_package() -> None:
    chart = yaml.safe_load((REPO / "charts/operator/Chart.yaml").read_text())
    assert chart["appVersion"] == install.__version__
    assert install.IMAGE.endswith(f":{install.__version__}")
