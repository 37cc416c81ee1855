"""Run ``litemaas-operator`` as a real subprocess against a test cluster.

A subprocess (not an in-process Kopf runner) so that tests can SIGKILL it, restart it, and read
exactly what it logged, as a user would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OperatorProcess:
    """One operator process; its log accumulates across restarts."""

    def __init__(
        self,
        kubeconfig: Path,
        namespaces: list[str],
        *,
        resync_seconds: float = 30,
        extra_env: dict[str, str] | None = None,
        log_format: str = "plain",
        verbose: bool = True,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.namespaces = namespaces
        self.resync_seconds = resync_seconds
        self.log_format = log_format
        self.verbose = verbose
        self.env = {**os.environ, **(extra_env or {})}
        self.log_path = Path(tempfile.mkstemp(prefix="litemaas-operator-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self.health_port = 0
        self.metrics_port = 0

    def start(self) -> OperatorProcess:
        """Start the operator and wait until its liveness endpoint answers."""
        self.health_port, self.metrics_port = free_port(), free_port()
        args = [
            sys.executable,
            "-m",
            "litemaas_operator",
            "run",
            "--kubeconfig",
            str(self.kubeconfig),
            "--log-format",
            self.log_format,
            "--health-port",
            str(self.health_port),
            "--metrics-port",
            str(self.metrics_port),
            "--resync-seconds",
            str(self.resync_seconds),
        ]
        if self.verbose:
            args.append("--verbose")
        for ns in self.namespaces:
            args += ["--namespace", ns]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"operator exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                with urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"operator did not become live:\n{self.logs()[-3000:]}")

    def alive(self) -> bool:
        """Whether the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, as when a node dies."""
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait, as when a Deployment rolls."""
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> OperatorProcess:
        """Stop, then start again."""
        self.stop()
        return self.start()

    def logs(self) -> str:
        """Everything the operator printed so far."""
        return self.log_path.read_text(errors="replace")

    def metrics(self) -> str:
        """The Prometheus metrics page."""
        with urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as resp:
            return resp.read().decode()
