"""Every install path runs two replicas electing a leader, rolled one at a time, kept through
drains, spread over nodes where it can, with the Lease's rights and nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from litemaas_operator import install
from litemaas_operator.controller.kube import KINDS

REPO = Path(__file__).resolve().parents[2]


def docs(rel: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((REPO / rel).read_text()) if d]


def env(deployment_spec: dict[str, Any]) -> dict[str, Any]:
    container = deployment_spec["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def assert_highly_available(spec: dict[str, Any]) -> None:
    assert spec["replicas"] == 2
    # A new pod stands by before an old one goes: the Lease always has a taker.
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    labels = spec["template"]["metadata"]["labels"]
    [term] = spec["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == labels
    variables = env(spec)
    assert variables["LEADER_ELECT"] == "true"
    assert variables["LEASE_NAME"] == install.LEASE_NAME
    assert variables["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert variables["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def assert_budget(pdb: dict[str, Any], pod_labels: dict[str, str]) -> None:
    assert pdb["spec"]["minAvailable"] == 1
    selector = pdb["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()


def test_the_plain_install_is_highly_available() -> None:
    [deployment] = docs("manifests/deployment.yaml")
    assert_highly_available(deployment["spec"])
    [pdb] = docs("manifests/pod-disruption-budget.yaml")
    assert pdb["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert_budget(pdb, deployment["spec"]["template"]["metadata"]["labels"])
    assert "pod-disruption-budget.yaml" in docs("manifests/kustomization.yaml")[0]["resources"]


def test_the_plain_install_grants_the_lease_by_name_in_the_operators_namespace_only() -> None:
    rbac = docs("manifests/rbac.yaml")
    lease_rules = [
        (doc["kind"], doc["metadata"].get("namespace"), rule)
        for doc in rbac
        if doc["kind"] in ("Role", "ClusterRole")
        for rule in doc["rules"]
        if "coordination.k8s.io" in rule["apiGroups"]
    ]
    assert lease_rules == [("Role", install.NAMESPACE, r) for r in install.leader_election_rules()]
    named, create = install.leader_election_rules()
    assert (named["resources"], named["resourceNames"]) == (["leases"], [install.LEASE_NAME])
    assert set(named["verbs"]) == {"get", "update"}  # exactly what election.py sends
    assert (create["verbs"], "resourceNames" in create) == (["create"], False)
    [binding] = [
        d
        for d in rbac
        if d["kind"] == "RoleBinding" and d["roleRef"]["name"].endswith("leader-election")
    ]
    assert binding["metadata"]["namespace"] == install.NAMESPACE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": install.SERVICE_ACCOUNT, "namespace": install.NAMESPACE}
    ]
    assert KINDS["Lease"].api_version == "coordination.k8s.io/v1"


def test_the_olm_bundle_is_highly_available() -> None:
    [csv] = docs("bundle/manifests/litemaas-operator.clusterserviceversion.yaml")
    strategy = csv["spec"]["install"]["spec"]
    [deployment] = strategy["deployments"]
    assert_highly_available(deployment["spec"])
    assert all(r in strategy["permissions"][0]["rules"] for r in install.leader_election_rules())
    [pdb] = docs("bundle/manifests/litemaas-operator_policy_v1_poddisruptionbudget.yaml")
    assert "namespace" not in pdb["metadata"]  # OLM puts it in the operator's namespace
    assert_budget(pdb, deployment["spec"]["template"]["metadata"]["labels"])
