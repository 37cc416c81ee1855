"""The Prometheus Operator's CRDs on a test cluster, and a real Prometheus server.

Both come from Go modules through ``hack/tools.sh`` (make setup builds and fetches them): the
CRDs from prometheus-operator's example/prometheus-operator-crd/, the server from
prometheus/prometheus cmd/prometheus. Nothing of them is committed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
import yaml

from harness.waiting import wait_until
from support.operator import free_port

ROOT = Path(__file__).resolve().parents[2]
# The kinds the operator creates; the others (Prometheus, Alertmanager...) are not needed.
CRDS = ("servicemonitors", "podmonitors", "prometheusrules")
_installed: set[str] = set()


def tool_path(name: str) -> Path:
    """A path ``hack/tools.sh path NAME`` prints; the test fails when it is not there."""
    out = subprocess.run(
        [str(ROOT / "hack/tools.sh"), "path", name], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        pytest.fail(f"{name} is missing: run `hack/tools.sh prometheus` (make setup does)")
    return Path(out.stdout.strip())


def install_monitoring_crds(cluster: Any) -> None:
    """ServiceMonitor, PodMonitor and PrometheusRule CRDs, once per cluster, Established."""
    if cluster.name in _installed:
        return
    directory = tool_path("prometheus-crds")
    for plural in CRDS:
        path = directory / f"monitoring.coreos.com_{plural}.yaml"
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))

    def established() -> bool:
        for plural in CRDS:
            out = cluster.kubectl(
                "get",
                f"crd/{plural}.monitoring.coreos.com",
                "-o",
                "jsonpath={.status.conditions[?(@.type=='Established')].status}",
                check=False,
            )
            if out.returncode != 0 or out.stdout.strip() != "True":
                return False
        return True

    wait_until(established, 60, what="monitoring.coreos.com CRDs Established")
    _installed.add(cluster.name)


class PrometheusServer:
    """``prometheus`` on 127.0.0.1 with a config and rule files of the test's own."""

    def __init__(self, config: dict[str, Any], rule_files: dict[str, dict[str, Any]]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="litemaas-prometheus-"))
        for name, content in rule_files.items():
            (self.dir / name).write_text(yaml.safe_dump(content, sort_keys=False))
        config = {**config, "rule_files": [str(self.dir / n) for n in rule_files]}
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "prometheus.log"

    def start(self) -> PrometheusServer:
        binary = tool_path("prometheus")
        self.port = free_port()
        args = [
            str(binary),
            f"--config.file={self.dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=info",
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self._ready, 60, what=f"prometheus ready (log: {self.log})")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"prometheus exited:\n{self.log.read_text()[-3000:]}")
        try:
            with urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def api(self, path: str) -> Any:
        with urlopen(f"http://127.0.0.1:{self.port}/api/v1/{path}", timeout=5) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return body["data"]

    def alerts(self, name: str) -> list[dict[str, Any]]:
        """The alerts named ``name`` as Prometheus' /api/v1/alerts lists them."""
        return [a for a in self.api("alerts")["alerts"] if a["labels"].get("alertname") == name]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")
