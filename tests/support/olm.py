"""Real OLM v0 (olm, catalog) and ``opm serve`` as processes of a test, on a harness cluster.

The binaries come from ``hack/tools.sh olm`` (Go modules, cached outside the repo). Each runs
in its own process group, logs to a temp file, and is stopped (SIGTERM, then SIGKILL) by the
test that started it; every wait here has a deadline.

What cannot be real on the harness: kwok runs no containers, so the operator Deployment OLM
creates gets a pod that only *looks* Running (which is what lets the CSV reach Succeeded), and
the operator itself runs as a local process with the token of the ServiceAccount OLM created.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from support.install import tool
from support.operator import free_port

# Both OLM binaries serve /healthz and /metrics on a fixed :8080 (:8443 with --tls-cert and
# --tls-key); v0.46.0 has no flag for the address. olm gets TLS (:8443), catalog plain :8080,
# so they do not clash with each other; if something else holds either port, the one affected
# logs the bind error and runs on (the server is a goroutine whose error is only logged).
OLM_FIXED_PORTS = (8443, 8080)


class Proc:
    """One long-running process in its own process group, its output in a temp file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = Path(tempfile.mkstemp(prefix=f"litemaas-{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check(self) -> None:
        """Raise with the log's tail if the process has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.proc.returncode}:\n{self.logs()[-3000:]}"
            )

    def stop(self) -> None:
        """SIGTERM to this process's group only, then SIGKILL after 15 s."""
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def binaries() -> dict[str, Path]:
    """opm, olm and catalog (built by ``hack/tools.sh olm``), and OLM's CRD directory."""
    found = {name: tool(name) for name in ("opm", "olm", "catalog", "olm-crds")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise RuntimeError(
            f"not built: {', '.join(missing)}; run `hack/tools.sh olm` (make setup does; "
            "~5-8 min cold on 2 cores)"
        )
    return {name: path for name, path in found.items() if path is not None}


def _env(kubeconfig: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)  # olm has no --kubeconfig flag
    # With CI set, olm wraps its client in a round tripper meant for OLM's own CI (it rejects
    # objects without OLM's labels); and the gRPC connection to opm must not go to a proxy.
    env.pop("CI", None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for olm's metrics server (only to move it to :8443)."""
    cert, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=olm.localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def start_olm(kubeconfig: Path, namespace: str, workdir: Path) -> tuple[Proc, Proc]:
    """olm (CSVs, OperatorGroups) and catalog (CatalogSources, Subscriptions, InstallPlans).

    ``namespace`` is OLM's own (catalog's global catalog namespace, olm's cleanup namespace).
    No ClusterOperator status is written (there is no ClusterVersion operator here).
    """
    bins = binaries()
    cert, key = self_signed(workdir)
    olm = Proc(
        "olm",
        [str(bins["olm"]), f"--namespace={namespace}",
         "--writeStatusName=", "--writePackageServerStatusName=",
         f"--tls-cert={cert}", f"--tls-key={key}", "--interval=1m"],
        _env(kubeconfig),
    ).start()  # fmt: skip
    catalog = Proc(
        "catalog",
        [str(bins["catalog"]), f"--kubeconfig={kubeconfig}", f"--namespace={namespace}",
         "--writeStatusName=", "--interval=1m"],
        _env(kubeconfig),
    ).start()  # fmt: skip
    return olm, catalog


def start_opm(catalog_dir: Path, workdir: Path) -> tuple[Proc, str]:
    """``opm serve <dir>`` on a free port; returns it and its gRPC address on 127.0.0.1.

    opm takes a port, not an address, so it listens on every interface (its pprof endpoint,
    which must differ from the default of another opm, is on loopback). Its serve cache is a
    temp dir of its own, removed when it exits.
    """
    bins = binaries()
    port, pprof = free_port(), free_port()
    proc = Proc(
        "opm",
        [str(bins["opm"]), "serve", str(catalog_dir), f"--port={port}",
         f"--pprof-addr=127.0.0.1:{pprof}",
         f"--termination-log={workdir / f'opm-{port}.termination-log'}"],
        _env(),
    ).start()  # fmt: skip
    address = f"127.0.0.1:{port}"

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    timed_wait(listening, 120, f"opm serve on {address}", [proc])
    return proc, address


def opm(*args: str) -> subprocess.CompletedProcess[str]:
    """Run opm to completion (render, validate); raises with its output on failure."""
    out = subprocess.run(
        [str(binaries()["opm"]), *args], capture_output=True, text=True, check=False, timeout=300
    )
    if out.returncode != 0:
        raise RuntimeError(f"opm {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out


def render(path: Path) -> list[dict[str, Any]]:
    """``opm render <path> -o json``: its documents."""
    text = opm("render", str(path), "-o", "json").stdout
    decoder, docs, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)
    return docs


def get(cluster: Any, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    """One object as JSON, or None."""
    out = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def items(cluster: Any, kind: str, namespace: str | None = None, *args: str) -> list[dict]:
    """Objects of a kind (in a namespace, or cluster-wide)."""
    where = ["-n", namespace] if namespace else []
    out = cluster.kubectl("get", kind, *where, *args, "-o", "json")
    return json.loads(out.stdout)["items"]


def timed_wait(
    probe: Any, timeout: float, what: str, procs: list[Proc], interval: float = 0.25
) -> tuple[Any, float]:
    """Poll ``probe`` until truthy, failing at once when one of ``procs`` has exited.

    Returns (value, seconds waited). An exception from the probe counts as "not yet".
    """
    start = time.monotonic()
    last: object = None
    while True:
        for proc in procs:
            proc.check()
        try:
            last = probe()
            if last:
                return last, time.monotonic() - start
        except Exception as exc:  # the object may not exist yet
            last = exc
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what} not reached within {timeout}s; last: {last!r}")
        time.sleep(interval)
