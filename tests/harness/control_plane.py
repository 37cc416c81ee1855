"""Starts and stops a real Kubernetes control plane on loopback, without Docker.

One cluster = etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (which plays
the kubelet for one fake node) and the harness agent (a PV provisioner and resizer and, for
the OpenShift flavour, the fake router), plus, for the OpenShift flavour, the route admission
webhook (:mod:`harness.route_admission`), each in its own process group, on free 127.0.0.1
ports, with all state in ``<cache>/clusters/<name>/``. ``state.json`` there records the
pids and command lines, so ``down`` and ``restart_apiserver`` work from another process.

Clusters started by pytest are tied to it twice over: their processes get a parent-death
signal (``setpriv --pdeathsig``) and ``state.json`` records the owner, so the next run reaps
whatever a crashed run left behind (see :func:`reap_stale`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import config, openshift, route_admission

NODE_NAME = "kwok-node-0"
STORAGE_CLASS = "standard"
# A second class of the same provisioner whose volumes cannot grow (refused resizes).
FIXED_STORAGE_CLASS = "fixed-size"
PROVISIONER = "harness.litemaas.io/hostpath"
FLAVOURS = ("openshift", "kubernetes")

NODE_AND_STORAGE = f"""
apiVersion: v1
kind: Node
metadata:
  name: {NODE_NAME}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: {NODE_NAME}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    type: kwok
# No NoSchedule taint (unlike kwok's docs) so that unmodified workloads land here.
spec: {{}}
status:
  allocatable: {{cpu: "32", memory: 256Gi, pods: "110"}}
  capacity: {{cpu: "32", memory: 256Gi, pods: "110"}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {STORAGE_CLASS}
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
# Served by harness/provisioner.py in the agent process: it creates hostPath PVs; and
# harness/resizer.py grows them when a claim asks for more.
provisioner: {PROVISIONER}
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {FIXED_STORAGE_CLASS}
provisioner: {PROVISIONER}
reclaimPolicy: Delete
volumeBindingMode: Immediate
# No allowVolumeExpansion: the API server refuses to grow its claims.
"""


class HarnessError(RuntimeError):
    """The control plane failed to start; the message names the log to read."""


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (the kernel picks it, so runs do not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _process_start_time(pid: int) -> str | None:
    """The kernel start time of a pid, which tells a live owner from a recycled pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _exited(pid: int) -> bool:
    """Whether pid is gone, reaping it if it is our child (a zombie counts as gone)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:  # not our child (started by another `up`)
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(pki: Path) -> None:
    """A throwaway CA, serving cert, admin client cert and SA signing key (EC: fast to make)."""
    pki.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-days",
        "3650",
        "-subj",
        "/CN=harness-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=pki,
    )
    exts = {
        "apiserver": "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
        "\nextendedKeyUsage=serverAuth\n",
        # system:masters: the admin kubeconfig, also used by KCM, scheduler, kwok and the agent.
        "admin": "extendedKeyUsage=clientAuth\n",
        # The route webhook, which kube-apiserver calls at https://127.0.0.1:<port>.
        "routewebhook": "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    }
    subjects = {
        "apiserver": "/CN=kube-apiserver",
        "admin": "/O=system:masters/CN=harness-admin",
        "routewebhook": "/CN=harness-routewebhook",
    }
    for name, ext in exts.items():
        (pki / f"{name}.ext").write_text(ext)
        _openssl(
            "req",
            "-new",
            *ec,
            "-subj",
            subjects[name],
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=pki,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.crt",
            cwd=pki,
        )
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key", cwd=pki)
    _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def write_kubeconfig(path: Path, server: str, pki: Path, name: str) -> None:
    """A self-contained kubeconfig (certs inlined), so it can be copied anywhere."""

    def b64(file: str) -> str:
        return base64.b64encode((pki / file).read_bytes()).decode()

    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": server, "certificate-authority-data": b64("ca.crt")},
            }
        ],
        "users": [
            {
                "name": f"{name}-admin",
                "user": {
                    "client-certificate-data": b64("admin.crt"),
                    "client-key-data": b64("admin.key"),
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin"}}],
        "current-context": name,
    }
    path.write_text(json.dumps(kubeconfig, indent=2))  # JSON is valid YAML
    path.chmod(0o600)


@dataclass
class ControlPlane:
    """One local cluster: its ports, processes and files. Persisted as ``state.json``."""

    name: str
    flavour: str
    domain: str | None
    ports: dict[str, int] = field(default_factory=dict)
    argv: dict[str, list[str]] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    owner_pid: int | None = None
    owner_start: str | None = None

    @property
    def state_dir(self) -> Path:
        return config.clusters_dir() / self.name

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    # --- persistence -------------------------------------------------------------------------

    def save(self) -> None:
        tmp = self.state_dir / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(self.state_dir / "state.json")

    @classmethod
    def load(cls, name: str) -> ControlPlane | None:
        path = config.clusters_dir() / name / "state.json"
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    # --- processes ---------------------------------------------------------------------------

    def _spawn(self, component: str) -> None:
        argv = self.argv[component]
        if self.owner_pid is not None and shutil.which("setpriv"):
            # Dies with its owner even on SIGKILL; reap_stale() covers machines without setpriv.
            argv = ["setpriv", "--pdeathsig", "KILL", "--", *argv]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(config.HERE.parent), env.get("PYTHONPATH")])
        )
        with open(self.state_dir / "logs" / f"{component}.log", "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                env=env,
                start_new_session=True,  # own process group: killed as a unit, not by Ctrl-C
            )
        self.pids[component] = proc.pid
        self.save()

    def _kill(self, *components: str, timeout: float = 10.0) -> None:
        """SIGTERMs the components' process groups together, SIGKILLs what outlives timeout."""
        pids = [pid for c in components if (pid := self.pids.pop(c, None)) is not None]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if not _exited(pid)]
            time.sleep(0.05)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _exited(pid)

    def alive(self, component: str) -> bool:
        """Whether a component's process still runs (zombies count as dead)."""
        pid = self.pids.get(component)
        return pid is not None and not _exited(pid)

    # --- waiting -----------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        pki = self.state_dir / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def _wait_http(self, component: str, url: str, ok: str, timeout: float) -> None:
        """Polls url until its body contains ok, failing early if the process died."""
        ctx = self._ssl_context() if url.startswith("https") else None
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.alive(component):
                raise HarnessError(f"{component} exited; see {self._log(component)}")
            try:
                with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:
                    last = resp.read().decode()
                    if ok in last:
                        return
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise HarnessError(
            f"{component} not ready after {timeout}s ({last}); see {self._log(component)}"
        )

    def _log(self, component: str) -> Path:
        return self.state_dir / "logs" / f"{component}.log"

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Runs our kubectl against this cluster; raises with stderr on failure."""
        proc = subprocess.run(
            [str(config.binary("kubectl")), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            text=True,
            capture_output=True,
        )
        if proc.returncode:
            raise HarnessError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc

    def wait_apiserver(self, timeout: float = 60) -> None:
        self._wait_http("kube-apiserver", f"{self.server}/readyz", "ok", timeout)

    # --- lifecycle ---------------------------------------------------------------------------

    def _build_argv(self) -> None:
        d, pki, p = self.state_dir, self.state_dir / "pki", self.ports
        kc = str(self.kubeconfig)
        peer = f"http://127.0.0.1:{p['etcd-peer']}"
        self.argv = {
            "etcd": [
                str(config.binary("etcd")),
                "--name=default",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{p['etcd']}",
                f"--advertise-client-urls=http://127.0.0.1:{p['etcd']}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--unsafe-no-fsync",  # throwaway data: durability only costs time
                "--log-level=warn",
            ],
            "kube-apiserver": [
                str(config.binary("kube-apiserver")),
                f"--etcd-servers=http://127.0.0.1:{p['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={p['apiserver']}",
                f"--cert-dir={pki}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/24",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # No kubelet or kube-proxy exists, and loopback is not a reachable endpoint.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
            "kube-controller-manager": [
                str(config.binary("kube-controller-manager")),
                f"--kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                "--secure-port=0",  # no health endpoint needed: we watch effects instead
                "--leader-elect=false",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                "--use-service-account-credentials=false",
                "--controllers=*",
            ],
            "kube-scheduler": [
                str(config.binary("kube-scheduler")),
                f"--kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--leader-elect=false",
            ],
            "kwok": [
                str(config.binary("kwok")),
                f"--kubeconfig={kc}",
                f"--config={config.kwok_stages()}",
                # Opt-in failures for annotated pods only (ImagePullBackOff, crash loops, ...).
                f"--config={config.HERE / 'kwok-stages.yaml'}",
                "--manage-all-nodes=true",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.0/16",
                "--node-ip=10.244.0.1",
                f"--server-address=127.0.0.1:{p['kwok']}",
            ],
            "agent": [
                sys.executable,
                "-m",
                "harness.agent",
                f"--kubeconfig={kc}",
                f"--volumes-dir={d / 'volumes'}",
                *([f"--router-domain={self.domain}"] if self.flavour == "openshift" else []),
            ],
        }
        if self.flavour == "openshift":
            self.argv["routewebhook"] = [
                str(config.binary("routewebhook")),
                f"--listen=127.0.0.1:{p['routewebhook']}",
                f"--tls-cert-file={pki / 'routewebhook.crt'}",
                f"--tls-private-key-file={pki / 'routewebhook.key'}",
                f"--kubeconfig={kc}",
                f"--domain={self.domain}",
            ]

    def start(self, timeout: float = 120) -> None:
        """Starts every component and waits until workloads can run on the fake node."""
        d = self.state_dir
        d.mkdir(parents=True, exist_ok=False)
        (d / "logs").mkdir()
        components = ("etcd", "etcd-peer", "apiserver", "kwok")
        if self.flavour == "openshift":
            components += ("routewebhook",)
        self.ports = {k: free_port() for k in components}
        make_pki(d / "pki")
        write_kubeconfig(self.kubeconfig, self.server, d / "pki", self.name)
        self._build_argv()
        self.save()
        try:
            self._spawn("etcd")
            self._wait_http("etcd", f"http://127.0.0.1:{self.ports['etcd']}/health", "true", 30)
            self._spawn("kube-apiserver")
            self.wait_apiserver(timeout=60)
            for component in ("kube-controller-manager", "kube-scheduler", "kwok", "agent"):
                self._spawn(component)
            self.kubectl("apply", "--server-side", "-f", "-", input=NODE_AND_STORAGE)
            if self.flavour == "openshift":
                assert self.domain is not None
                self.domain = openshift.install(self.kubectl, self.domain)
                self.save()
                self._start_route_admission()
            self._wait_workloads_possible(timeout)
        except BaseException:
            self.stop(remove=False)  # keep logs for the post-mortem
            raise

    def _start_route_admission(self) -> None:
        """Starts the route webhook and registers it; returns once Routes go through it."""
        # The domain in effect: an Ingress config that already existed keeps its own.
        self.argv["routewebhook"] = [
            f"--domain={self.domain}" if a.startswith("--domain=") else a
            for a in self.argv["routewebhook"]
        ]
        self._spawn("routewebhook")
        port = self.ports["routewebhook"]
        self._wait_http("routewebhook", f"https://127.0.0.1:{port}/readyz", "ok", 30)
        try:
            route_admission.register(self.kubectl, port, self.state_dir / "pki" / "ca.crt")
        except route_admission.NotAdmittingError as exc:
            raise HarnessError(f"{exc}; see {self._log('routewebhook')}") from exc

    def _wait_workloads_possible(self, timeout: float) -> None:
        """Node Ready (kwok) and the default ServiceAccount (KCM) exist: pods can be created."""
        deadline = time.monotonic() + timeout
        while True:
            for component in ("kube-controller-manager", "kube-scheduler", "kwok", "agent"):
                if not self.alive(component):
                    raise HarnessError(f"{component} exited; see {self._log(component)}")
            node = self.kubectl(
                "get",
                "node",
                NODE_NAME,
                "-o",
                "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            ).stdout
            sa = self.kubectl("get", "serviceaccounts", "-n", "default", "-o", "name").stdout
            if node == "True" and "serviceaccount/default" in sa:
                return
            if time.monotonic() > deadline:
                raise HarnessError(f"node Ready={node!r}, default SA={sa!r} after {timeout}s")
            time.sleep(0.2)

    def restart_apiserver(self, downtime: float = 0.0) -> None:
        """Stops kube-apiserver (SIGTERM), optionally stays down, starts it, waits for /readyz."""
        # SIGTERM as a real restart would, but SIGKILL after 3s: with clients watching, a
        # graceful drain lasts up to --request-timeout (60s), too slow for tests.
        self._kill("kube-apiserver", timeout=3)
        self.save()
        if downtime:
            time.sleep(downtime)
        self._spawn("kube-apiserver")
        self.wait_apiserver()

    def stop(self, remove: bool = True) -> None:
        """Stops the processes, dependants first, and deletes the state dir unless told not to."""
        # Clients first so they do not log connection errors. Throwaway data needs no grace, and
        # kube-apiserver with open watches takes up to --request-timeout (60s) to exit.
        self._kill(
            "agent", "routewebhook", "kwok", "kube-scheduler", "kube-controller-manager", timeout=2
        )
        self._kill("kube-apiserver", "etcd", timeout=2)
        if remove:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        elif self.state_dir.is_dir():
            self.save()


def reap_stale() -> list[str]:
    """Stops clusters whose owning process (a pytest run) is gone; returns their names."""
    reaped = []
    root = config.clusters_dir()
    for state in sorted(root.glob("*/state.json")) if root.is_dir() else []:
        cp = ControlPlane.load(state.parent.name)
        if cp is None or cp.owner_pid is None:
            continue
        if _process_start_time(cp.owner_pid) != cp.owner_start:
            cp.stop()
            reaped.append(cp.name)
    return reaped


def up(
    name: str,
    flavour: str,
    domain: str = config.DEFAULT_DOMAIN,
    owned: bool = False,
) -> ControlPlane:
    """Starts cluster ``name`` (``owned``: dies with this process, as pytest's clusters do)."""
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
    config.require_binaries(flavour)
    reap_stale()
    for attempt in (1, 2):
        cp = ControlPlane(name, flavour, domain if flavour == "openshift" else None)
        if owned:
            cp.owner_pid = os.getpid()
            cp.owner_start = _process_start_time(cp.owner_pid)
        try:
            cp.start()
            return cp
        except HarnessError:
            # A port picked by free_port() can be taken by someone else before we bind it;
            # one retry on fresh ports makes that race harmless. Real failures repeat.
            if attempt == 2:
                raise
            shutil.rmtree(cp.state_dir, ignore_errors=True)
    raise AssertionError("unreachable")


def down(name: str) -> bool:
    """Stops cluster ``name`` and removes its state; False if there was nothing to stop."""
    cp = ControlPlane.load(name)
    if cp is None:
        if (config.clusters_dir() / name).is_dir():
            shutil.rmtree(config.clusters_dir() / name, ignore_errors=True)
            return True
        return False
    cp.stop()
    return True


def list_clusters() -> Sequence[ControlPlane]:
    """All clusters with a state file under the cache dir."""
    root = config.clusters_dir()
    found = [ControlPlane.load(p.parent.name) for p in sorted(root.glob("*/state.json"))]
    return [cp for cp in found if cp is not None]
