"""A harness cluster for the bench: audited kube-apiserver, one client identity per actor.

kube-apiserver's ``apiserver_request_total`` has no client label, and on the harness every
component (controller-manager, scheduler, kwok, fake router) talks as the same admin. So the
bench starts the API server with an audit log that records only two users it mints
certificates for: ``litemaas-operator`` (the operator under test) and ``bench-kubectl`` (the
baseline). Every request those two make is then counted exactly, by verb, with timestamps.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness import control_plane  # noqa: E402
from harness.control_plane import ControlPlane, _process_start_time  # noqa: E402

OPERATOR_USER = "litemaas-operator"
KUBECTL_USER = "bench-kubectl"

AUDIT_POLICY = f"""apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: ["{OPERATOR_USER}", "{KUBECTL_USER}"]
- level: None
"""


class AuditedControlPlane(ControlPlane):
    """A harness control plane whose kube-apiserver writes an audit log of two users."""

    audit_dir: str = ""

    def _build_argv(self) -> None:
        super()._build_argv()
        audit = Path(self.audit_dir)
        # The harness's /24 holds ~250 Services; 100 instances need 500.
        self.argv["kube-apiserver"] = [
            "--service-cluster-ip-range=10.96.0.0/16"
            if a.startswith("--service-cluster-ip-range=")
            else a
            for a in self.argv["kube-apiserver"]
        ]
        self.argv["kube-apiserver"] += [
            f"--audit-policy-file={audit / 'policy.yaml'}",
            f"--audit-log-path={audit / 'audit.log'}",
            "--audit-log-format=json",
            "--audit-log-maxsize=0",  # never rotate during a run
            "--audit-log-mode=blocking",
        ]


def start(name: str, workdir: Path) -> AuditedControlPlane:
    """Start an openshift-flavour cluster that dies with this process."""
    control_plane.config.require_binaries("openshift")
    control_plane.reap_stale()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "policy.yaml").write_text(AUDIT_POLICY)
    cp = AuditedControlPlane(name, "openshift", control_plane.config.DEFAULT_DOMAIN)
    cp.audit_dir = str(workdir)
    cp.owner_pid = os.getpid()
    cp.owner_start = _process_start_time(cp.owner_pid)
    cp.start()
    return cp


def audit_log(cp: AuditedControlPlane) -> Path:
    """Where the cluster's audit log is."""
    return Path(cp.audit_dir) / "audit.log"


def user_kubeconfig(cp: AuditedControlPlane, user: str, out: Path) -> Path:
    """A kubeconfig for ``cp`` as ``user`` (group system:masters), signed by the cluster CA."""
    pki = cp.state_dir / "pki"
    key, csr, crt = out.with_suffix(".key"), out.with_suffix(".csr"), out.with_suffix(".crt")
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-subj", f"/O=system:masters/CN={user}", "-out", str(csr)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"),
         "-CAkey", str(pki / "ca.key"), "-CAcreateserial", "-days", "1", "-out", str(crt)],
        check=True, capture_output=True,
    )  # fmt: skip
    config = json.loads(cp.kubeconfig.read_text())
    auth = config["users"][0]["user"]
    auth["client-certificate-data"] = base64.b64encode(crt.read_bytes()).decode()
    auth["client-key-data"] = base64.b64encode(key.read_bytes()).decode()
    out.write_text(json.dumps(config, indent=2))
    out.chmod(0o600)
    return out


def add_nodes(cp: AuditedControlPlane, count: int) -> None:
    """More fake kwok nodes (110 pods each, as the harness's one): 100 instances run 500 pods."""
    node = control_plane.NODE_AND_STORAGE.split("---")[0]
    docs = [
        node.replace(f"name: {control_plane.NODE_NAME}", f"name: kwok-node-{i}").replace(
            f"hostname: {control_plane.NODE_NAME}", f"hostname: kwok-node-{i}"
        )
        for i in range(1, count + 1)
    ]
    cp.kubectl("apply", "--server-side", "-f", "-", input="---".join(docs))
