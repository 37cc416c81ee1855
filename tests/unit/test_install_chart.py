"""The Helm chart lints, renders objects valid for Kubernetes, and honours its values.

Needs helm from `hack/tools.sh helm` (the tests fail without it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from litemaas_operator import install

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts/operator"


def _helm() -> Path:
    out = subprocess.run(
        [str(REPO / "hack/tools.sh"), "path", "helm"], capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.fail("helm is not built: run `hack/tools.sh helm` (make setup does)")
    return Path(out.stdout.strip())


def render(*sets: str) -> list[dict[str, Any]]:
    args = [str(_helm()), "template", "lmaas", str(CHART), "--namespace", "ops"]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def child_roles(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Roles in watched namespaces (not the leader-election Role in the release's)."""
    return [r for r in by_kind(docs, "Role") if not r["metadata"]["name"].endswith("-election")]


def test_helm_lint_passes() -> None:
    for extra in ([], ["--set", "watchNamespaces={a,b}"]):
        out = subprocess.run(
            [str(_helm()), "lint", "--strict", str(CHART), *extra], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    "sets",
    [
        [],
        ["watchNamespaces={team-a,team-b}", "rbac.userRoles=false"],
        [
            "nodeSelector.role=infra",
            "tolerations[0].key=infra",
            "tolerations[0].operator=Exists",
            "resources.limits.memory=1Gi",
        ],
    ],
    ids=["defaults", "namespaced", "scheduling"],
)
def test_every_rendered_object_validates(sets: list[str]) -> None:
    docs = render(*sets)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, "1.34", strict=True)


def test_defaults_match_the_plain_install() -> None:
    docs = render()
    deployment = by_kind(docs, "Deployment")[0]
    plain = yaml.safe_load((REPO / "manifests/deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == install.IMAGE
    plain_container = plain["spec"]["template"]["spec"]["containers"][0]
    # Only the watched namespaces differ: the chart watches its own namespace by default.
    assert {**container, "env": []} == {**plain_container, "env": []}
    assert {"name": "WATCH_NAMESPACE", "value": "ops"} in container["env"]
    roles = {r["metadata"]["name"]: r["rules"] for r in by_kind(docs, "ClusterRole")}
    assert "lmaas-litemaas-operator" not in roles
    assert roles["lmaas-litemaas-operator-cluster"] == (
        install.cluster_rules() + install.namespace_watch_rules()
    )
    [role] = child_roles(docs)
    assert (role["metadata"]["namespace"], role["rules"]) == ("ops", install.namespaced_rules())
    assert by_kind(docs, "CustomResourceDefinition")[0]["metadata"]["annotations"] == {
        "helm.sh/resource-policy": "keep"
    }


def test_cluster_wide_is_an_explicit_choice() -> None:
    docs = render("clusterWide=true")
    roles = {r["metadata"]["name"]: r["rules"] for r in by_kind(docs, "ClusterRole")}
    assert roles["lmaas-litemaas-operator"] == install.namespaced_rules()
    assert roles["lmaas-litemaas-operator-cluster"] == install.cluster_rules()
    assert not child_roles(docs)
    env = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "WATCH_NAMESPACE", "value": ""} in env


def test_admission_policies_hold_the_release_account() -> None:
    docs = render()
    policies = {p["metadata"]["name"]: p for p in by_kind(docs, "ValidatingAdmissionPolicy")}
    assert set(policies) == {"litemaas-author-rights", "litemaas-operator-writes"}
    [condition] = policies["litemaas-operator-writes"]["spec"]["matchConditions"]
    assert condition["expression"] == (
        "request.userInfo.username == 'system:serviceaccount:ops:lmaas-litemaas-operator'"
    )
    bindings = by_kind(docs, "ValidatingAdmissionPolicyBinding")
    assert {b["spec"]["policyName"] for b in bindings} == set(policies)


def test_watched_namespaces_get_roles_and_no_cluster_wide_child_rights() -> None:
    docs = render("watchNamespaces={team-a,team-b}")
    roles = child_roles(docs)
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert all(r["rules"] == install.namespaced_rules() for r in roles)
    bindings = by_kind(docs, "RoleBinding")
    assert {b["subjects"][0]["namespace"] for b in bindings} == {"ops"}
    cluster_roles = [r["metadata"]["name"] for r in by_kind(docs, "ClusterRole")]
    assert "lmaas-litemaas-operator" not in cluster_roles
    env = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "WATCH_NAMESPACE", "value": "team-a,team-b"} in env


def test_toggles_leave_out_crd_and_rbac() -> None:
    docs = render(
        "crds.install=false",
        "rbac.create=false",
        "admissionPolicies.enabled=false",
        "monitoring.service.enabled=false",
    )
    kinds = {d["kind"] for d in docs}
    assert kinds == {"ServiceAccount", "Deployment", "PodDisruptionBudget"}


def test_scheduling_values_reach_the_pod() -> None:
    docs = render(
        "nodeSelector.role=infra",
        "tolerations[0].key=infra",
        "tolerations[0].operator=Exists",
        "image.tag=9.9.9",
    )
    pod = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"role": "infra"}
    assert pod["tolerations"] == [{"key": "infra", "operator": "Exists"}]
    assert pod["containers"][0]["image"] == f"{install.IMAGE_REPOSITORY}:9.9.9"
    assert "nodeSelector" not in by_kind(render(), "Deployment")[0]["spec"]["template"]["spec"]


def test_pull_secrets_security_context_args_and_log_format_reach_the_pod() -> None:
    docs = render(
        "imagePullSecrets[0].name=mirror",
        "podSecurityContext.runAsUser=1000730000",
        "podSecurityContext.runAsNonRoot=true",
        "extraArgs={--resync-seconds=600}",
        "logFormat=plain",
    )
    pod = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "mirror"}]
    assert pod["securityContext"]["runAsUser"] == 1000730000
    [container] = pod["containers"]
    assert container["args"] == ["--resync-seconds=600"]
    assert {"name": "LOG_FORMAT", "value": "plain"} in container["env"]


def test_the_chart_readme_lists_every_value() -> None:
    readme = (CHART / "README.md").read_text()
    for key in install.helm_values():
        assert f"| `{key}` |" in readme
    assert all(install.VALUES_COMMENTS.get(key) for key in install.helm_values())


def test_two_replicas_elect_a_leader_on_a_lease_of_the_release() -> None:
    docs = render()
    [deployment] = by_kind(docs, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["type"] == "RollingUpdate"
    pod = spec["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert (env["LEADER_ELECT"], env["LEASE_NAME"]) == ("true", "lmaas-litemaas-operator-leader")
    [term] = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert (
        term["podAffinityTerm"]["labelSelector"]["matchLabels"]
        == (spec["template"]["metadata"]["labels"])
    )
    [leader] = [r for r in by_kind(docs, "Role") if r["metadata"]["name"].endswith("-election")]
    assert leader["metadata"]["namespace"] == "ops"
    assert leader["rules"] == install.leader_election_rules("lmaas-litemaas-operator-leader")
    [pdb] = by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]


def test_replicas_budget_and_affinity_are_values() -> None:
    docs = render(
        "replicaCount=3",
        "podDisruptionBudget.enabled=false",
        "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].key=infra",
        "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
    )
    [deployment] = by_kind(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert set(deployment["spec"]["template"]["spec"]["affinity"]) == {"nodeAffinity"}
    assert not by_kind(docs, "PodDisruptionBudget")
