"""OperatorHub-style install, really done by OLM v0, then an upgrade through the channel.

Real: OLM v0.46.0 (``olm`` and ``catalog``, built from Go modules by ``hack/tools.sh olm``)
with its own CRDs, ``opm serve`` of the committed ``catalog/`` (bundles carried inline, no
bundle image, so OLM creates no unpack Job), a CatalogSource whose ``spec.address`` is opm's
gRPC address on 127.0.0.1, an OperatorGroup (OwnNamespace), a Subscription with manual
approval, the InstallPlan approved, the CSV ``Succeeded``; the CRDs, ServiceAccount and RBAC
are the ones OLM created; the admission policies an administrator applies after an OLM install
(``manifests/olm/admission-policies.yaml``) hold the operator under its OLM identity.

Simulated, because kwok runs no containers: the operator Deployment OLM creates gets a pod that
only looks Running (that is what lets the CSV succeed), so the operator runs as a local process
with a token of the ServiceAccount OLM created and the namespaces OLM put in the Deployment's
``olm.targetNamespaces``. On the upgrade, the "0.1.1 operator" is the same program, restarted
with a fresh token as the rolled pod would be (only the bundle's version and image differ).

The times of each step are printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import config
from litemaas_operator import __version__, install
from litemaas_operator.install import catalog as fbc
from support import olm
from support.crs import CRs
from support.install import (
    ROOT,
    forbidden_lines,
    leader_election_env,
    new_namespace,
    token_kubeconfig,
    tool,
)
from support.operator import OperatorProcess

pytestmark = [pytest.mark.e2e]

PACKAGE = fbc.PACKAGE
CURRENT = fbc.csv_name(__version__)
NEXT_VERSION = "0.1.1"
NEXT = fbc.csv_name(NEXT_VERSION)
SKIP_RANGE = f">={__version__} <{NEXT_VERSION}"
SERVICE_ACCOUNT = install.SERVICE_ACCOUNT
POLICIES = ROOT / "manifests/olm/admission-policies.yaml"
FIELD_MANAGER = "litemaas-e2e-olm"


@dataclass
class OlmInstall:
    """OLM, opm and the operator installed from the catalog into ``namespace``."""

    cluster: Any
    namespace: str
    olm_namespace: str
    work: Path
    procs: dict[str, olm.Proc] = field(default_factory=dict)
    operator: OperatorProcess | None = None
    targets: list[str] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)
    install_plan: str = ""
    cr_name: str = ""

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return olm.get(self.cluster, kind, name, self.namespace)

    def wait(self, probe: Any, timeout: float, what: str, key: str | None = None) -> Any:
        """Wait (failing fast if OLM or opm died), recording the seconds under ``key``.

        On a timeout the error carries what OLM said: the status of the install namespace's
        OLM objects and the last lines of olm's and catalog's logs.
        """
        try:
            value, seconds = olm.timed_wait(probe, timeout, what, list(self.procs.values()))
        except TimeoutError as err:
            raise TimeoutError(f"{err}\n{self.diagnose()}") from None
        if key:
            self.times[key] = seconds
        return value

    def diagnose(self) -> str:
        out = []
        for kind in ("catalogsources", "subscriptions", "installplans", "clusterserviceversions"):
            for obj in olm.items(self.cluster, f"{kind}.operators.coreos.com", self.namespace):
                status = obj.get("status") or {}
                brief = {k: status.get(k) for k in ("phase", "state", "message", "reason")}
                conds = [
                    f"{c.get('type')}={c.get('status')} {c.get('reason')}: {c.get('message')}"
                    for c in status.get("conditions") or []
                ]
                out.append(f"{obj['kind']}/{obj['metadata']['name']}: {brief} {conds}")
        for name in ("olm", "catalog"):
            if name in self.procs:
                tail = self.procs[name].logs().splitlines()[-15:]
                out.append(f"--- {name} log (last lines) ---\n" + "\n".join(tail))
        return "\n".join(out)

    def report(self, title: str, keys: list[str]) -> None:
        print(f"\n{title}")
        for key in keys:
            if key in self.times:
                print(f"  {key:<58} {self.times[key]:6.1f} s")


def _apply(cluster: Any, *args: str, body: Any = None) -> None:
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}",
        *args, input=None if body is None else json.dumps(body),
    )  # fmt: skip


def _crd_names(paths: list[Path]) -> list[str]:
    return [
        doc["metadata"]["name"]
        for path in paths
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "CustomResourceDefinition"
    ]


def _established(cluster: Any, names: list[str]) -> bool:
    for name in names:
        crd = json.loads(cluster.kubectl("get", "crd", name, "-o", "json").stdout)
        conds = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
        if conds.get("Established") != "True":
            return False
    return True


def _install_plan_for(inst: OlmInstall, csv: str) -> dict[str, Any] | None:
    """The Subscription's current InstallPlan once it names ``csv``."""
    sub = inst.get("subscriptions.operators.coreos.com", PACKAGE) or {}
    ref = (sub.get("status") or {}).get("installPlanRef") or {}
    plan = inst.get("installplans.operators.coreos.com", ref["name"]) if ref.get("name") else None
    if plan and csv in plan["spec"].get("clusterServiceVersionNames", []):
        return plan
    return None


def _phase(inst: OlmInstall, kind: str, name: str) -> str | None:
    """``status.phase`` of an OLM object (InstallPlan, CSV) in the install namespace."""
    obj = inst.get(f"{kind}.operators.coreos.com", name) or {}
    return (obj.get("status") or {}).get("phase")


def _approve(inst: OlmInstall, csv: str, key: str) -> dict[str, Any]:
    """Wait for the InstallPlan of ``csv`` to ask for approval, approve it, wait Complete."""
    plan = inst.wait(lambda: _install_plan_for(inst, csv), 180, f"an InstallPlan for {csv}")
    name = plan["metadata"]["name"]
    inst.wait(
        lambda: _phase(inst, "installplans", name) == "RequiresApproval",
        120,
        f"InstallPlan {name} RequiresApproval",
        f"{key}: InstallPlan created -> RequiresApproval",
    )
    inst.cluster.kubectl(
        "patch", "installplan", name, "-n", inst.namespace, "--type=merge",
        "-p", '{"spec":{"approved":true}}',
    )  # fmt: skip
    approved = time.monotonic()
    inst.wait(
        lambda: _phase(inst, "installplans", name) == "Complete",
        180,
        f"InstallPlan {name} Complete",
    )
    inst.times[f"{key}: approved -> InstallPlan Complete"] = time.monotonic() - approved
    inst.wait(
        lambda: _phase(inst, "clusterserviceversions", csv) == "Succeeded",
        240,
        f"CSV {csv} Succeeded",
    )
    inst.times[f"{key}: approved -> CSV Succeeded"] = time.monotonic() - approved
    inst.install_plan = name
    return inst.get("installplans.operators.coreos.com", name) or {}


def _start_operator(inst: OlmInstall) -> OperatorProcess:
    """The operator as a local process, as OLM's Deployment would run it (kwok cannot)."""
    deployment = inst.get("deployments.apps", install.NAME)
    assert deployment is not None, "OLM created no operator Deployment"
    annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    inst.targets = annotations["olm.targetNamespaces"].split(",")
    kubeconfig = token_kubeconfig(
        inst.cluster, inst.work / f"sa-{secrets.token_hex(3)}", inst.namespace, SERVICE_ACCOUNT
    )
    # Leader election as the Deployment sets it: the Lease needs the CSV's `permissions`.
    election = leader_election_env(inst.cluster, inst.namespace, install.NAME)
    return OperatorProcess(kubeconfig, inst.targets, resync_seconds=30, extra_env=election).start()


def _policies_before(cluster: Any) -> list[dict[str, Any]]:
    """The admission policies (and bindings) of another install, if any, to put back after."""
    found = []
    for doc in yaml.safe_load_all(POLICIES.read_text()):
        if not doc:
            continue
        resource = f"{doc['kind'].lower()}s.admissionregistration.k8s.io"
        out = cluster.kubectl("get", resource, doc["metadata"]["name"], "-o", "json", check=False)
        if out.returncode == 0:
            obj = json.loads(out.stdout)
            obj["metadata"] = {
                k: v for k, v in obj["metadata"].items() if k in ("name", "labels", "annotations")
            }
            obj.pop("status", None)
            found.append(obj)
    return found


# The prometheus-operator kinds a workload monitors itself with; OpenShift's monitoring stack
# serves all three (so does any cluster running prometheus-operator).
MONITORING_KINDS = ("servicemonitors", "podmonitors", "prometheusrules")


def _monitoring_crds() -> list[Path]:
    """CRDs of the monitoring objects the bundle carries (ServiceMonitor, PrometheusRule).

    OLM creates them with the CSV, and the InstallPlan fails where their API is not served.
    OpenShift serves it; the harness gets the CRDs from the prometheus-operator module
    (``hack/tools.sh prometheus-crds``: a download, no build).
    """
    if not any(
        m["apiVersion"].startswith("monitoring.coreos.com/")
        for m in fbc.bundle_manifests(ROOT).values()
    ):
        return []
    subprocess.run(
        [str(ROOT / "hack/tools.sh"), "prometheus-crds"], check=True, capture_output=True
    )
    crd_dir = tool("prometheus-crds")
    assert crd_dir is not None
    return [crd_dir / f"monitoring.coreos.com_{plural}.yaml" for plural in MONITORING_KINDS]


@pytest.fixture(scope="module")
def olm_install(
    openshift_cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OlmInstall]:
    """OLM from scratch on the openshift-flavoured harness, then the operator from the catalog."""
    cluster = openshift_cluster
    try:
        bins = olm.binaries()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    work = tmp_path_factory.mktemp("olm")
    olm_crds = sorted(bins["olm-crds"].glob("*.crd.yaml"))
    # OLM watches config.openshift.io proxies and apiservers whenever that group is served (the
    # harness serves its ingresses): without their CRDs olm waits for its caches forever.
    openshift_crds = sorted((bins["olm-crds"] / "openshift").glob("*.crd.yaml"))
    olm_crds += openshift_crds + _monitoring_crds()
    crd_names = _crd_names(olm_crds)
    ours = [n for n in crd_names if cluster.kubectl("get", "crd", n, check=False).returncode != 0]
    policies_before = _policies_before(cluster)
    inst = OlmInstall(
        cluster, new_namespace(cluster, "e2e-olm"), new_namespace(cluster, "e2e-olm-system"), work
    )
    try:
        start = time.monotonic()
        for path in olm_crds:
            _apply(cluster, "-f", str(path))  # the CSV CRD is over client-side apply's limit
        inst.wait(lambda: _established(cluster, crd_names), 60, "OLM CRDs Established")
        inst.times["OLM CRDs applied and Established"] = time.monotonic() - start

        olm.opm("validate", str(ROOT / "catalog"))
        inst.procs["olm"], inst.procs["catalog"] = olm.start_olm(
            cluster.kubeconfig, inst.olm_namespace, work
        )
        opm_started = time.monotonic()
        inst.procs["opm"], address = olm.start_opm(ROOT / "catalog", work)
        inst.times["opm serve catalog/ listening"] = time.monotonic() - opm_started
        ns = inst.namespace
        _apply(
            cluster,
            "-f",
            "-",
            body={
                "apiVersion": "operators.coreos.com/v1alpha1",
                "kind": "CatalogSource",
                "metadata": {"name": "litemaas", "namespace": ns},
                "spec": {
                    "sourceType": "grpc",
                    "address": address,
                    "displayName": "LiteMaaS (e2e)",
                    "publisher": "litemaas-operator tests",
                },
            },
        )
        inst.wait(
            lambda: (
                (inst.get("catalogsources.operators.coreos.com", "litemaas") or {})
                .get("status", {})
                .get("connectionState", {})
                .get("lastObservedState")
                == "READY"
            ),
            180,
            "CatalogSource READY",
            "OLM started -> CatalogSource READY",
        )
        # OwnNamespace: the CSV refuses AllNamespaces on purpose (an operator reading every
        # namespace's Secrets is a choice made elsewhere).
        _apply(
            cluster,
            "-f",
            "-",
            body={
                "apiVersion": "operators.coreos.com/v1",
                "kind": "OperatorGroup",
                "metadata": {"name": "litemaas", "namespace": ns},
                "spec": {"targetNamespaces": [ns]},
            },
        )
        subscribed = time.monotonic()
        _apply(
            cluster,
            "-f",
            "-",
            body={
                "apiVersion": "operators.coreos.com/v1alpha1",
                "kind": "Subscription",
                "metadata": {"name": PACKAGE, "namespace": ns},
                "spec": {
                    "name": PACKAGE,
                    "channel": fbc.CHANNEL,
                    "source": "litemaas",
                    "sourceNamespace": ns,
                    "installPlanApproval": "Manual",
                    "startingCSV": CURRENT,
                },
            },
        )
        _approve(inst, CURRENT, "install")
        inst.times["install: Subscription -> CSV Succeeded"] = time.monotonic() - subscribed

        # What docs/security.md asks of an administrator after an OLM install.
        _apply(cluster, "-f", str(POLICIES))
        inst.operator = _start_operator(inst)

        # The first alm-example, as the console pre-fills it, created by the admin.
        csv = inst.get("clusterserviceversions.operators.coreos.com", CURRENT) or {}
        example = json.loads(csv["metadata"]["annotations"]["alm-examples"])[0]
        inst.cr_name = example["metadata"]["name"]
        created = time.monotonic()
        _apply(cluster, "-n", ns, "-f", "-", body=example)
        CRs(cluster, ns).wait_ready(inst.cr_name, timeout=180)
        inst.times["alm-examples[0] created -> Ready"] = time.monotonic() - created
        yield inst
    finally:
        _teardown(inst, ours, policies_before)


def _teardown(inst: OlmInstall, our_crds: list[str], policies_before: list[dict]) -> None:
    cluster, ns = inst.cluster, inst.namespace
    # The CR first, while its operator runs (its finalizer removes the OAuthClient and Groups).
    if inst.operator is not None and inst.operator.alive() and inst.cr_name:
        cluster.kubectl("delete", "lmaas", inst.cr_name, "-n", ns, "--timeout=60s", check=False)
    if inst.operator is not None:
        inst.operator.stop()
    # Namespaces while OLM still runs; then OLM and opm stop.
    for name in (ns, inst.olm_namespace):
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
    for proc in inst.procs.values():
        proc.stop()
    for kind in ("clusterrole", "clusterrolebinding"):
        cluster.kubectl("delete", kind, "-l", f"olm.owner.namespace={ns}", check=False)
    # The admission policies as they were before (another install's, or none).
    cluster.kubectl("delete", "-f", str(POLICIES), "--ignore-not-found", check=False)
    for obj in policies_before:
        _apply(cluster, "-f", "-", body=obj)
    if our_crds:
        cluster.kubectl("delete", "crd", *our_crds, "--wait=false", check=False)


def _granted(rules: list[dict[str, Any]]) -> set[tuple]:
    return {
        (g, r, v, tuple(rule.get("resourceNames") or ()))
        for rule in rules
        for g in rule.get("apiGroups", [])
        for r in rule.get("resources", [])
        for v in rule["verbs"]
    }


def _owned_by(obj: dict[str, Any], csv: str) -> bool:
    labels = obj["metadata"].get("labels") or {}
    refs = obj["metadata"].get("ownerReferences") or []
    return labels.get("olm.owner") == csv or any(
        r["kind"] == "ClusterServiceVersion" and r["name"] == csv for r in refs
    )


def _as_operator(inst: OlmInstall, *args: str, body: Any = None) -> subprocess.CompletedProcess:
    assert inst.operator is not None
    return subprocess.run(
        [config.kubectl_path(), "--kubeconfig", str(inst.operator.kubeconfig), *args],
        input=json.dumps(body) if body is not None else None,
        text=True,
        capture_output=True,
        check=False,
    )


@pytest.mark.timeout(900)
def test_olm_installs_the_bundle_and_the_operator_brings_the_example_to_ready(
    olm_install: OlmInstall,
) -> None:
    inst, cluster, ns = olm_install, olm_install.cluster, olm_install.namespace
    plan = inst.get("installplans.operators.coreos.com", inst.install_plan) or {}
    steps = [s["resource"] for s in plan["status"]["plan"]]
    kinds = {(s["kind"], s["name"]) for s in steps}
    # Every object of the bundle is a step of the plan (CRDs, the CSV, what else it carries).
    bundle = fbc.bundle_manifests(ROOT).values()
    for obj in bundle:
        assert (obj["kind"], obj["metadata"]["name"]) in kinds, kinds
    assert ("ClusterServiceVersion", CURRENT) in kinds
    crds = [o["metadata"]["name"] for o in bundle if o["kind"] == "CustomResourceDefinition"]
    assert "litemaases.litemaas.io" in crds
    # No unpack Job: the bundle came inline from the catalog.
    assert plan["status"].get("bundleLookups") in (None, []), plan["status"]["bundleLookups"]
    assert olm.items(cluster, "jobs", ns) == []
    assert olm.items(cluster, "jobs", inst.olm_namespace) == []

    # The CRDs were written by OLM's catalog operator.
    for crd in crds:
        obj = json.loads(
            cluster.kubectl("get", "crd", crd, "--show-managed-fields", "-o", "json").stdout
        )
        managers = {m["manager"] for m in obj["metadata"].get("managedFields", [])}
        assert "catalog" in managers, (crd, managers)

    # ServiceAccount, Deployment and RBAC: OLM's, with the CSV's rules.
    csv = inst.get("clusterserviceversions.operators.coreos.com", CURRENT) or {}
    assert csv["status"]["phase"] == "Succeeded"
    assert "AllNamespaces" not in {m["type"] for m in csv["spec"]["installModes"] if m["supported"]}
    sa = inst.get("serviceaccounts", SERVICE_ACCOUNT) or {}
    assert _owned_by(sa, CURRENT), sa["metadata"]
    assert _owned_by(inst.get("deployments.apps", install.NAME) or {}, CURRENT)
    assert inst.targets == [ns]
    roles = [r for r in olm.items(cluster, "roles", ns) if _owned_by(r, CURRENT)]
    assert _granted(install.namespaced_rules()) <= _granted(
        [rule for r in roles for rule in r["rules"]]
    )
    cluster_roles = [
        r
        for r in olm.items(cluster, "clusterroles", None, "-l", f"olm.owner.namespace={ns}")
        if _owned_by(r, CURRENT)
    ]
    assert _granted(install.cluster_rules() + install.namespace_watch_rules()) <= _granted(
        [rule for r in cluster_roles for rule in r["rules"]]
    )

    # The operator runs as the ServiceAccount OLM made, in the namespace OLM targeted.
    who = _as_operator(inst, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    username = f"system:serviceaccount:{ns}:{SERVICE_ACCOUNT}"
    assert who.stdout == username, (who.stdout, who.stderr)
    assert username != install.OPERATOR_USERNAME  # not the plain install's identity

    ready = CRs(cluster, ns).get(inst.cr_name) or {}
    assert ready["status"]["urls"]["frontend"].startswith("https://"), ready["status"]
    assert inst.operator is not None
    denied = forbidden_lines(inst.operator.logs())
    assert denied == [], "\n".join(denied)

    # The admission policies hold this identity too: an unlabelled Secret is refused.
    refused = _as_operator(
        inst,
        "create",
        "-f",
        "-",
        body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": ns}},
    )
    assert refused.returncode != 0 and "managed-by=litemaas-operator" in refused.stderr, refused

    inst.report(
        "OLM install (OLM v0.46.0, opm v1.73.0, harness openshift flavour):",
        [
            "OLM CRDs applied and Established",
            "opm serve catalog/ listening",
            "OLM started -> CatalogSource READY",
            "install: InstallPlan created -> RequiresApproval",
            "install: approved -> InstallPlan Complete",
            "install: approved -> CSV Succeeded",
            "install: Subscription -> CSV Succeeded",
            "alm-examples[0] created -> Ready",
        ],
    )


@pytest.mark.timeout(900)
def test_an_upgrade_through_the_channel_keeps_instances_ready_and_credentials(
    olm_install: OlmInstall,
) -> None:
    inst, cluster, ns = olm_install, olm_install.cluster, olm_install.namespace
    crs = CRs(cluster, ns)
    name = inst.cr_name
    before = crs.get(name) or {}
    ready_before = crs.condition(name, "Ready") or {}
    assert ready_before.get("status") == "True"
    credentials = f"{name}-credentials"
    secret_before = crs.core.read_namespaced_secret(credentials, ns)

    # A 0.1.1 bundle from the same generator, rendered by opm as a release would be.
    bundle_dir = inst.work / "bundle-0.1.1"
    previous = fbc.bundle_manifests(ROOT)
    upgrade = {"version": NEXT_VERSION, "replaces": CURRENT, "skip_range": SKIP_RANGE}
    nxt = fbc.bundle_manifests(ROOT, **upgrade)
    for rel, text in fbc.bundle_files(ROOT, **upgrade).items():
        (bundle_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (bundle_dir / rel).write_text(text)
    rendered = olm.render(bundle_dir)
    assert rendered == [json.loads(json.dumps(fbc.catalog_bundle(nxt)))]
    catalog_dir = inst.work / "catalog-0.1.1" / PACKAGE
    catalog_dir.mkdir(parents=True)
    docs = fbc.catalog(ROOT, [previous, nxt])
    (catalog_dir / "catalog.yaml").write_text(fbc.catalog_text(docs))
    channel = next(d for d in docs if d["schema"] == "olm.channel")
    assert channel["entries"][-1] == {"name": NEXT, "replaces": CURRENT, "skipRange": SKIP_RANGE}
    olm.opm("validate", str(catalog_dir.parent))

    # The catalog now serves 0.1.1: point the CatalogSource at it.
    started = time.monotonic()
    inst.procs["opm-0.1.1"], address = olm.start_opm(catalog_dir.parent, inst.work)
    cluster.kubectl(
        "patch", "catalogsource", "litemaas", "-n", ns, "--type=merge",
        "-p", json.dumps({"spec": {"address": address}}),
    )  # fmt: skip
    inst.procs.pop("opm").stop()
    _approve(inst, NEXT, "upgrade")
    inst.times["upgrade: catalog updated -> CSV 0.1.1 Succeeded"] = time.monotonic() - started
    inst.wait(
        lambda: inst.get("clusterserviceversions.operators.coreos.com", CURRENT) is None,
        180,
        f"CSV {CURRENT} replaced and deleted",
        "upgrade: 0.1.1 Succeeded -> 0.1.0 CSV deleted",
    )
    sub = inst.get("subscriptions.operators.coreos.com", PACKAGE) or {}
    assert sub["status"]["installedCSV"] == NEXT
    csv = inst.get("clusterserviceversions.operators.coreos.com", NEXT) or {}
    assert csv["spec"]["replaces"] == CURRENT
    deployment = inst.get("deployments.apps", install.NAME) or {}
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{install.IMAGE_REPOSITORY}:{NEXT_VERSION}"
    assert _owned_by(inst.get("serviceaccounts", SERVICE_ACCOUNT) or {}, NEXT)

    # The rolled operator pod: the same program, a fresh token of the same ServiceAccount.
    assert inst.operator is not None
    inst.operator.stop()
    restarted = time.monotonic()
    log_from = len(inst.operator.logs())
    inst.operator = _start_operator(inst)
    crs.wait_ready(name, timeout=120)
    inst.times["upgrade: operator restarted -> CR Ready"] = time.monotonic() - restarted
    # Give a resync the chance to change something it should not.
    time.sleep(5)
    after = crs.get(name) or {}
    ready_after = crs.condition(name, "Ready") or {}
    assert ready_after["status"] == "True"
    # Ready never went False during the upgrade: its transition time did not move.
    assert ready_after["lastTransitionTime"] == ready_before["lastTransitionTime"]
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    secret_after = crs.core.read_namespaced_secret(credentials, ns)
    assert secret_after.metadata.uid == secret_before.metadata.uid
    assert secret_after.data == secret_before.data
    denied = forbidden_lines(inst.operator.logs()[log_from:])
    assert denied == [], "\n".join(denied)

    inst.report(
        "OLM upgrade 0.1.0 -> 0.1.1 through the channel:",
        [
            "upgrade: InstallPlan created -> RequiresApproval",
            "upgrade: approved -> InstallPlan Complete",
            "upgrade: approved -> CSV Succeeded",
            "upgrade: catalog updated -> CSV 0.1.1 Succeeded",
            "upgrade: 0.1.1 Succeeded -> 0.1.0 CSV deleted",
            "upgrade: operator restarted -> CR Ready",
        ],
    )
