"""Create, read and wait on LiteMaaS CRs and their children through the real API server."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.waiting import wait_until
from litemaas_operator.facts import Instance
from litemaas_operator.render.names import Names

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION, PLURAL = "litemaas.io", "v1alpha1", "litemaases"
CRD_FILE = ROOT / "crds" / "litemaas.io_litemaases.yaml"


def sample(name: str = "litemaas") -> dict[str, Any]:
    """The OpenShift sample CR."""
    return yaml.safe_load((ROOT / "manifests/samples" / f"{name}.yaml").read_text())


def client_name(namespace: str, name: str = "litemaas") -> str:
    """The default OAuthClient name of a CR (auth.mode oauthclient)."""
    return Names(Instance(name, namespace)).oauth_client


def install_crd(cluster: Any) -> None:
    """Apply the CRD (server-side) and wait until it is Established."""
    # With the LiteMaaSBackup and LiteMaaSRestore CRDs beside it (the operator serves all three).
    for crd in sorted(CRD_FILE.parent.glob("*.yaml")):
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))

    def established() -> bool:
        # `kubectl wait` errors instead of waiting while a new CRD has no conditions at all.
        out = cluster.kubectl(
            "get",
            "crd/litemaases.litemaas.io",
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Established')].status}",
            check=False,
        )
        return out.returncode == 0 and out.stdout.strip() == "True"

    wait_until(established, 60, what="CRD Established")


class CRs:
    """LiteMaaS CRs and children in one namespace of one cluster."""

    def __init__(self, cluster: Any, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        api = cluster.api_client()
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)

    def create(self, body: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        """Create a CR in this namespace."""
        body = copy.deepcopy(body)
        body["metadata"] = {"name": name or body["metadata"]["name"]}
        return self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body
        )

    def get(self, name: str = "litemaas") -> dict[str, Any] | None:
        """A CR, or None."""
        try:
            return self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        """Merge-patch a CR's spec, as a user would."""
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, {"spec": spec}
        )

    def delete(self, name: str = "litemaas") -> None:
        """Delete a CR (returns at once)."""
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def condition(self, name: str, ctype: str) -> dict[str, Any] | None:
        """One status condition of a CR."""
        cr = self.get(name) or {}
        for cond in (cr.get("status") or {}).get("conditions") or []:
            if cond["type"] == ctype:
                return cond
        return None

    def wait_condition(
        self, name: str, ctype: str, status: str = "True", timeout: float = 90
    ) -> dict[str, Any]:
        """Wait until a condition has ``status`` for the CR's current generation."""

        def probe() -> dict[str, Any] | None:
            cr = self.get(name) or {}
            gen = cr.get("metadata", {}).get("generation")
            cond = self.condition(name, ctype)
            if cond and cond["status"] == status and cond.get("observedGeneration") == gen:
                return cond
            return None

        try:
            return wait_until(probe, timeout, what=f"{name} {ctype}={status}")
        except TimeoutError as err:
            conditions = ((self.get(name) or {}).get("status") or {}).get("conditions") or []
            summary = "; ".join(
                f"{c['type']}={c['status']} ({c['reason']}: {c.get('message', '')})"
                for c in conditions
            )
            raise TimeoutError(f"{err}; conditions: {summary or 'none'}") from None

    def wait_ready(self, name: str = "litemaas", timeout: float = 90) -> dict[str, Any]:
        """Wait until Ready is True and return the CR."""
        self.wait_condition(name, "Ready", "True", timeout)
        cr = self.get(name)
        assert cr is not None
        return cr

    def wait_gone(self, name: str = "litemaas", timeout: float = 60) -> None:
        """Wait until the CR no longer exists (its finalizer ran)."""
        wait_until(lambda: self.get(name) is None, timeout, what=f"{name} deleted")

    def secret(self, name: str) -> dict[str, str] | None:
        """A Secret's decoded data, or None."""
        try:
            data = self.core.read_namespaced_secret(name, self.namespace).data or {}
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    def create_secret(self, name: str, data: dict[str, str]) -> None:
        """Create an Opaque Secret with string data."""
        self.core.create_namespaced_secret(
            self.namespace,
            {"metadata": {"name": name}, "stringData": data, "type": "Opaque"},
        )

    def deployment(self, name: str) -> Any:
        """A Deployment, or None."""
        try:
            return self.apps.read_namespaced_deployment(name, self.namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
