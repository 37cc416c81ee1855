"""The OLM bundle: operator-framework's validator finds nothing, and the documented rules hold.

The validator is operator-verify from github.com/operator-framework/api (`hack/tools.sh
operator-verify`; the test fails without it). The rule checks below run everywhere.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from litemaas_operator import install
from litemaas_operator.api.crd import crd_manifest

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "bundle"
CSV_FILE = BUNDLE / "manifests/litemaas-operator.clusterserviceversion.yaml"


def _verify() -> Path:
    out = subprocess.run(
        [str(REPO / "hack/tools.sh"), "path", "operator-verify"], capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.fail(
            "operator-verify is not built: run `hack/tools.sh operator-verify` (make setup does)"
        )
    return Path(out.stdout.strip())


def verify(bundle: Path, *flags: str) -> list[str]:
    """operator-verify's error and warning lines (it exits 0 either way)."""
    out = subprocess.run(
        [str(_verify()), "manifests", str(bundle), *flags], capture_output=True, text=True
    )
    return [line for line in (out.stdout + out.stderr).splitlines() if "level=" in line]


def csv() -> dict[str, Any]:
    return yaml.safe_load(CSV_FILE.read_text())


def test_operator_framework_validation_is_clean() -> None:
    assert verify(BUNDLE) == []
    problems = verify(BUNDLE, "--operatorhub_validate", "--object_validate")
    assert [p for p in problems if "is deprecated" not in p] == []


def test_the_validator_catches_a_broken_bundle(tmp_path: Path) -> None:
    broken = tmp_path / "bundle"
    shutil.copytree(BUNDLE, broken)
    path = broken / "manifests" / CSV_FILE.name
    doc = yaml.safe_load(path.read_text())
    for mode in doc["spec"]["installModes"]:
        mode["supported"] = False
    path.write_text(yaml.safe_dump(doc))
    assert any("level=error" in line for line in verify(broken))


def test_annotations_and_dockerfile_agree() -> None:
    annotations = yaml.safe_load((BUNDLE / "metadata/annotations.yaml").read_text())
    annotations = annotations["annotations"]
    assert annotations["operators.operatorframework.io.bundle.mediatype.v1"] == "registry+v1"
    assert annotations["operators.operatorframework.io.bundle.package.v1"] == "litemaas-operator"
    dockerfile = (BUNDLE / "bundle.Dockerfile").read_text()
    for key, value in annotations.items():
        assert f"LABEL {key}={value}" in dockerfile
    assert "COPY manifests /manifests/" in dockerfile
    assert "COPY metadata /metadata/" in dockerfile
    assert sorted(p.name for p in (BUNDLE / "manifests").iterdir()) == sorted(
        [
            CSV_FILE.name,
            "litemaas.io_litemaases.yaml",
            "litemaas.io_litemaasbackups.yaml",
            "litemaas.io_litemaasrestores.yaml",
            # The operator's monitoring (monitoring/install.py).
            "litemaas-operator-metrics_v1_service.yaml",
            "litemaas-operator_monitoring.coreos.com_v1_servicemonitor.yaml",
            "litemaas-operator_monitoring.coreos.com_v1_prometheusrule.yaml",
            "litemaas-operator-dashboard_v1_configmap.yaml",
            # Two replicas: one stays through a node drain.
            "litemaas-operator_policy_v1_poddisruptionbudget.yaml",
        ]
    )


def test_csv_owns_the_crd_with_descriptors_that_exist_in_the_schema() -> None:
    doc = csv()
    crd = crd_manifest()
    owned = doc["spec"]["customresourcedefinitions"]["owned"]
    assert [(o["name"], o["version"], o["kind"]) for o in owned] == [
        ("litemaases.litemaas.io", "v1alpha1", "LiteMaaS"),
        ("litemaasbackups.litemaas.io", "v1alpha1", "LiteMaaSBackup"),
        ("litemaasrestores.litemaas.io", "v1alpha1", "LiteMaaSRestore"),
    ]
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]

    def exists(root: dict, path: str) -> bool:
        node: dict = root
        for part in path.split("."):
            props = node.get("properties") or {}
            if part not in props:
                return False
            node = props[part]
        return True

    for d in owned[0]["specDescriptors"]:
        assert exists(schema["spec"], d["path"]), d["path"]
    for d in owned[0]["statusDescriptors"]:
        assert exists(schema["status"], d["path"]), d["path"]
    assert {d["path"] for d in owned[0]["statusDescriptors"]} >= {"conditions", "phase"}


def test_alm_examples_are_the_samples_and_valid_specs() -> None:
    from litemaas_operator.api import LiteMaaSSpec

    everything = json.loads(csv()["metadata"]["annotations"]["alm-examples"])
    # One example of each other kind (LiteMaaSBackup, LiteMaaSRestore) follows the samples.
    assert [e["kind"] for e in everything[-2:]] == ["LiteMaaSBackup", "LiteMaaSRestore"]
    examples = [e for e in everything if e["kind"] == "LiteMaaS"]
    names = {e["metadata"]["name"] for e in examples}
    samples = list((REPO / "manifests/samples").glob("*.yaml"))
    assert len(examples) == len(samples) >= 4
    assert {yaml.safe_load(p.read_text())["metadata"]["name"] for p in samples} == names
    for example in examples:
        LiteMaaSSpec.model_validate(example["spec"])


def test_install_strategy_matches_the_generator() -> None:
    spec = csv()["spec"]
    strategy = spec["install"]["spec"]
    assert strategy["permissions"][0]["rules"] == (
        install.namespaced_rules() + install.leader_election_rules()
    )
    cluster = strategy["clusterPermissions"][0]["rules"]
    assert cluster == install.cluster_rules() + install.namespace_watch_rules()
    deployment = strategy["deployments"][0]
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"]
        == (strategy["permissions"][0]["serviceAccountName"])
    )
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.annotations['olm.targetNamespaces']"
    )
    # Cluster-wide (an operator that reads every namespace's Secrets) is not OLM's default.
    assert {m["type"] for m in spec["installModes"] if m["supported"]} == {
        "OwnNamespace",
        "SingleNamespace",
        "MultiNamespace",
    }


def test_related_images_cover_the_operator_and_every_default_operand_image() -> None:
    doc = csv()
    related = {i["image"] for i in doc["spec"]["relatedImages"]}
    container = doc["spec"]["install"]["spec"]["deployments"][0]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["image"] in related
    assert doc["metadata"]["annotations"]["containerImage"] == container["image"]
    rendered = subprocess.run(
        [
            "litemaas-operator",
            "render",
            "--domain",
            "apps.example.com",
            "-f",
            str(REPO / "manifests/samples/litemaas-cr.yaml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    images = set()
    for obj in yaml.safe_load_all(rendered):
        pod = ((obj or {}).get("spec") or {}).get("template", {}).get("spec") or {}
        images |= {c["image"] for c in pod.get("containers", []) + pod.get("initContainers", [])}
    assert images and images <= related, images - related


def test_the_console_prefills_the_plain_default_sample() -> None:
    examples = json.loads(install.csv(REPO)["metadata"]["annotations"]["alm-examples"])
    first = examples[0]
    assert first == yaml.safe_load((REPO / "manifests/samples/litemaas-cr.yaml").read_text())
    assert "deleteClaimOnDelete" not in json.dumps(first) and "secrets" not in first["spec"]


def test_the_phase_descriptor_lists_the_phases_the_crd_allows() -> None:
    crd = install.crd_manifest()
    phases = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"][
        "properties"
    ]["phase"]["enum"]
    assert "Deleting" not in phases
    [phase] = [d for d in install.STATUS_DESCRIPTORS if d[0] == "phase"]
    assert all(p in phase[2] for p in phases)


def test_the_capability_level_claims_what_the_bundle_ships() -> None:
    """Deep Insights (level 4) needs Full Lifecycle's backup and restore kinds and the
    metrics and alerts of level 4 in the bundle itself."""
    doc = csv()
    assert doc["metadata"]["annotations"]["capabilities"] == "Deep Insights"
    kinds = {o["kind"] for o in doc["spec"]["customresourcedefinitions"]["owned"]}
    assert {"LiteMaaSBackup", "LiteMaaSRestore"} <= kinds
    shipped = {yaml.safe_load(p.read_text())["kind"] for p in (BUNDLE / "manifests").iterdir()}
    assert {"PrometheusRule", "ServiceMonitor"} <= shipped
