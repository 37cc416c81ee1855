"""How GitOps tools read a live LiteMaaS CR: Flux's kstatus and the Argo CD health check.

The CRs are reconciled by the real operator against a real API server. kstatus is the real
library (sigs.k8s.io/cli-utils, via hack/kstatus); the Argo CD check is the shipped Lua script
run in Lua 5.1 (Argo CD's gopher-lua is a Lua 5.1). Needs the kstatus binary: run
``bash hack/kstatus/build.sh`` first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
KSTATUS_SRC = ROOT / "hack" / "kstatus"
LUA_SCRIPT = ROOT / "manifests" / "argocd" / "litemaas-health.lua"
OIDC_SECRET = "litemaas-oidc"


def kstatus_binary() -> Path:
    """Where hack/kstatus/build.sh puts the binary for the current sources (same recipe)."""
    gomod = (KSTATUS_SRC / "go.mod").read_text()
    match = re.search(r"^\s*sigs\.k8s\.io/cli-utils (v\S+)", gomod, re.M)
    assert match, "hack/kstatus/go.mod does not require sigs.k8s.io/cli-utils"
    digest = hashlib.sha256(
        b"".join((KSTATUS_SRC / f).read_bytes() for f in ("main.go", "go.mod", "go.sum"))
    ).hexdigest()[:12]
    cache = Path(os.environ.get("LITEMAAS_CACHE") or Path.home() / ".cache/litemaas-operator")
    return cache / f"kstatus-cli-utils-{match.group(1)}-{digest}" / "kstatus"


@pytest.fixture(scope="session")
def kstatus_bin() -> Path:
    """The kstatus reader; a missing binary fails the test (it is not skipped)."""
    path = kstatus_binary()
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: run `bash hack/kstatus/build.sh` before these tests")
    return path


def kstatus(binary: Path, obj: dict[str, Any]) -> tuple[str, str]:
    """kstatus' (status, message) for one object."""
    out = subprocess.run(
        [str(binary), "-o", "json"],
        input=json.dumps(obj),
        text=True,
        capture_output=True,
        check=True,
        timeout=30,
    )
    (result,) = json.loads(out.stdout)
    return result["status"], result["message"]


def argo(obj: dict[str, Any]) -> tuple[str, str]:
    """The Argo CD health check's (status, message) for one object, run in Lua 5.1."""
    import lupa.lua51

    lua = lupa.lua51.LuaRuntime()
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(LUA_SCRIPT.read_text())
    return result["status"], result["message"]


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any]:
    """One status condition (empty when absent)."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond["type"] == ctype:
            return cond
    return {}


def sample_for(cluster: Any, crs: CRs) -> dict[str, Any]:
    """The sample CR of the cluster's flavour (with the OIDC Secret it needs on Kubernetes)."""
    if cluster.flavour == "openshift":
        return sample("litemaas-cr")
    crs.create_secret(OIDC_SECRET, {"client-secret": "oidc-client-secret-value-1234"})
    return sample("litemaas-kubernetes")


def readings(binary: Path, obj: dict[str, Any]) -> dict[str, Any]:
    """What each reader says about one snapshot, with what it was computed from."""
    status = obj.get("status") or {}
    return {
        "generation": obj["metadata"]["generation"],
        "observedGeneration": status.get("observedGeneration"),
        "phase": status.get("phase"),
        "ready": condition(obj, "Ready").get("status"),
        "kstatus": kstatus(binary, obj),
        "argo": argo(obj),
    }


def watch_until_ready(
    binary: Path, crs: CRs, name: str, timeout: float = 120
) -> list[dict[str, Any]]:
    """Every distinct snapshot of the CR (by resourceVersion) until Ready for its generation."""
    seen: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = crs.get(name)
        assert obj is not None
        rv = obj["metadata"]["resourceVersion"]
        if rv not in seen:
            seen[rv] = readings(binary, obj)
        ready = condition(obj, "Ready")
        if ready.get("status") == "True" and ready.get("observedGeneration") == obj["metadata"].get(
            "generation"
        ):
            return list(seen.values())
        time.sleep(0.05)
    raise AssertionError(f"{name} not Ready within {timeout}s; seen: {list(seen.values())}")


def test_created_to_ready(
    cluster, crs: CRs, operator: OperatorProcess, kstatus_bin: Path, namespace: str
):
    crs.create(sample_for(cluster, crs))
    history = watch_until_ready(kstatus_bin, crs, "litemaas")

    # Every snapshot the operator wrote before Ready reads as work in progress to both tools.
    before = [r for r in history if r["ready"] != "True" and r["observedGeneration"]]
    assert before, f"the operator never reported progress before Ready: {history}"
    for reading in before:
        assert reading["kstatus"][0] == "InProgress", reading
        assert reading["argo"][0] == "Progressing", reading
        assert reading["argo"][1].startswith("waiting for "), reading
    # ...and Ready reads Current and Healthy.
    assert history[-1]["kstatus"] == ("Current", "Resource is Ready"), history[-1]
    assert history[-1]["argo"] == ("Healthy", "all components are ready"), history[-1]
    # `kubectl wait` agrees.
    cluster.kubectl(
        "wait", "--for=condition=Ready", "--timeout=10s", "lmaas/litemaas", "-n", namespace
    )


def test_freshly_created_cr_is_not_current(crs: CRs, kstatus_bin: Path):
    """Flux reads the object right after applying it, before any operator has looked at it."""
    created = crs.create(sample("litemaas-cr"))
    assert argo(created)[0] == "Progressing"
    assert kstatus(kstatus_bin, created)[0] == "InProgress"


def test_spec_change_is_not_current_until_observed(
    cluster, crs: CRs, operator: OperatorProcess, kstatus_bin: Path, namespace: str
):
    crs.create(sample_for(cluster, crs))
    crs.wait_ready()
    assert kstatus(kstatus_bin, crs.get())[0] == "Current"

    # Deterministic window: the operator is down while the spec changes.
    operator.stop()
    crs.patch_spec("litemaas", {"backend": {"logLevel": "debug"}})
    changed = crs.get()
    assert changed["metadata"]["generation"] == 2
    assert changed["status"]["observedGeneration"] == 1
    assert condition(changed, "Ready")["status"] == "True"  # true, but of generation 1
    state, message = kstatus(kstatus_bin, changed)
    assert state == "InProgress"
    assert message == "LiteMaaS generation is 2, but latest observed generation is 1"
    assert argo(changed) == (
        "Progressing",
        "Waiting for the operator to observe generation 2 (status is of generation 1)",
    )
    # kubectl wait ignores a Ready condition of an older generation.
    waited = cluster.kubectl(
        "wait",
        "--for=condition=Ready",
        "--timeout=2s",
        "lmaas/litemaas",
        "-n",
        namespace,
        check=False,
    )
    assert waited.returncode != 0, waited.stdout

    # Racing window: with the operator running, no snapshot of a stale status reads Current.
    operator.start()
    history = watch_until_ready(kstatus_bin, crs, "litemaas")
    # No pre-upgrade backup here (test_upgrades.py covers it): the rollout is what is read.
    crs.patch_spec(
        "litemaas",
        {
            "backend": {"logLevel": "info"},
            "version": "0.5.1",
            "upgrade": {"backupBeforeUpgrade": False},
        },
    )
    history += watch_until_ready(kstatus_bin, crs, "litemaas")
    for reading in history:
        if reading["observedGeneration"] != reading["generation"]:
            assert reading["kstatus"][0] == "InProgress", reading
            assert reading["argo"][0] == "Progressing", reading
        elif reading["ready"] != "True":
            assert reading["kstatus"][0] != "Current", reading
            assert reading["argo"][0] != "Healthy", reading
    final = crs.get()
    assert final["metadata"]["generation"] == 3
    assert kstatus(kstatus_bin, final) == ("Current", "Resource is Ready")
    assert argo(final)[0] == "Healthy"


def test_missing_secret_reads_failed_and_degraded(
    cluster, crs: CRs, operator: OperatorProcess, kstatus_bin: Path
):
    body = sample_for(cluster, crs)
    body["spec"]["secrets"] = {"jwtSecret": {"name": "my-jwt", "key": "jwt"}}
    crs.create(body)
    stalled = crs.wait_condition("litemaas", "Stalled", "True")
    cr = crs.get()

    state, message = kstatus(kstatus_bin, cr)
    assert state == "Failed"
    assert message == stalled["message"]
    assert "my-jwt" in message and "spec.secrets.jwtSecret" in message
    assert argo(cr) == ("Degraded", stalled["message"])

    # The operator recovers by itself once the Secret exists, and both readers follow.
    crs.create_secret("my-jwt", {"jwt": "a-jwt-secret-the-user-chose-0123456789"})
    history = watch_until_ready(kstatus_bin, crs, "litemaas")
    assert history[-1]["kstatus"][0] == "Current"
    assert history[-1]["argo"][0] == "Healthy"
