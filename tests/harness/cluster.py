"""The ``Cluster`` handle that the pytest fixtures give to tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client
from kubernetes import config as kube_config

from . import config
from .control_plane import ControlPlane
from .router import FakeRouter


@dataclass
class Cluster:
    """A cluster under test: one the harness started, or an external one (e.g. kind).

    Attributes:
        name: harness cluster name, or ``external-<flavour>``.
        flavour: ``"openshift"`` (stand-in OpenShift APIs present) or ``"kubernetes"``.
        kubeconfig: path of a kubeconfig whose current context is this cluster.
        domain: the apps domain Routes get on openshift, ``None`` on kubernetes.
        server: the API server URL.
        owned: True when the harness runs the control plane (restart_apiserver works).
    """

    name: str
    flavour: str
    kubeconfig: Path
    domain: str | None
    server: str
    control_plane: ControlPlane | None = field(default=None, repr=False)
    router: FakeRouter | None = field(default=None, repr=False)

    @property
    def owned(self) -> bool:
        return self.control_plane is not None

    def api_client(self) -> client.ApiClient:
        """A new ``kubernetes.client.ApiClient`` for this cluster (close it when done)."""
        return kube_config.new_client_from_config(config_file=str(self.kubeconfig))

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Runs kubectl (ours, else the one on PATH) with this kubeconfig; output captured.

        With ``check`` a non-zero exit raises ``subprocess.CalledProcessError`` (its
        ``stderr`` holds kubectl's message).
        """
        return subprocess.run(
            [config.kubectl_path(), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            text=True,
            capture_output=True,
            check=check,
        )

    def metrics_text(self) -> str:
        """kube-apiserver's Prometheus metrics (``GET /metrics``) as text."""
        return self.kubectl("get", "--raw", "/metrics").stdout

    def restart_apiserver(self, downtime: float = 0.0) -> None:
        """Stops kube-apiserver, waits ``downtime`` seconds, starts it and waits for /readyz.

        Only for clusters the harness started (``owned``): an external cluster's API server
        is not ours to restart, so this raises ``NotImplementedError``; tests that need it
        should ``pytest.skip`` when ``not cluster.owned``.
        """
        if self.control_plane is None:
            raise NotImplementedError(
                f"restart_apiserver() needs a harness-started cluster; {self.name} is external"
                f" ({self.kubeconfig}). Skip the test when `not cluster.owned`."
            )
        self.control_plane.restart_apiserver(downtime)
