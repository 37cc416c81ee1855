"""Route admission on the OpenShift flavour: the harness's routewebhook, as OpenShift admits Routes.

On OpenShift, openshift-apiserver validates Routes, generates ``<name>-<namespace>.<domain>``
for one without ``spec.host`` (annotation ``openshift.io/host.generated: "true"``) and asks
whether the requesting user may set ``spec.host`` (``routes/custom-host``). The Route CRD alone
does none of that, so ``routewebhook`` (a Go program in ``routewebhook/``, built by
``hack/cluster.sh build``) runs the same library-go code as admission webhooks. This module
writes their registration (failurePolicy Fail, the harness CA as the bundle) and waits until
the API server really calls them, so no Route is ever created before they are in force.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import CalledProcessError, CompletedProcess

NAME = "routes.harness.litemaas.io"
HOST_GENERATED = "openshift.io/host.generated"
_RULE = {
    "apiGroups": ["route.openshift.io"],
    "apiVersions": ["v1"],
    "scope": "Namespaced",
}

Kubectl = Callable[..., CompletedProcess[str]]


class NotAdmittingError(RuntimeError):
    """The API server did not call the webhook in time."""


def registration(port: int, ca_file: Path) -> str:
    """The Mutating- and ValidatingWebhookConfiguration (JSON list) for a webhook on ``port``."""
    ca = base64.b64encode(ca_file.read_bytes()).decode()

    def hook(path: str, resources: list[str], operations: list[str]) -> dict[str, object]:
        return {
            "name": NAME,
            "clientConfig": {"url": f"https://127.0.0.1:{port}{path}", "caBundle": ca},
            "rules": [{**_RULE, "operations": operations, "resources": resources}],
            # As openshift-apiserver: no Route is stored without these checks.
            "failurePolicy": "Fail",
            # SubjectAccessReviews are reads: dry-run requests (kubectl --dry-run=server) work.
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 10,
        }

    objects = [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": NAME},
            "webhooks": [
                {**hook("/mutate", ["routes"], ["CREATE", "UPDATE"]), "reinvocationPolicy": "Never"}
            ],
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": NAME},
            "webhooks": [hook("/validate", ["routes", "routes/status"], ["CREATE", "UPDATE"])],
        },
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})


def probe_route(name: str) -> str:
    """A Route without a host, to create with ``--dry-run=server`` (nothing is stored)."""
    return json.dumps(
        {
            "apiVersion": "route.openshift.io/v1",
            "kind": "Route",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"to": {"kind": "Service", "name": name}},
        }
    )


def register(kubectl: Kubectl, port: int, ca_file: Path, timeout: float = 60) -> None:
    """Registers the webhooks and returns once the API server calls them.

    The API server picks up webhook configurations through an informer, so a Route created
    right after ``apply`` could still slip through unchecked: a server-side dry run of a
    hostless Route is repeated until it comes back with a generated host.
    """
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=litemaas-harness",
        "-f",
        "-",
        input=registration(port, ca_file),
    )
    name = f"harness-probe-{secrets.token_hex(3)}"
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            out = kubectl(
                "create", "--dry-run=server", "-o", "json", "-f", "-", input=probe_route(name)
            ).stdout
            annotations = json.loads(out)["metadata"].get("annotations") or {}
        except (RuntimeError, CalledProcessError, ValueError, KeyError) as exc:
            # Refused while the webhook is not yet reachable (failurePolicy Fail).
            out, annotations = str(exc), {}
        if annotations.get(HOST_GENERATED) == "true":
            return
        last = out[-300:]
        time.sleep(0.2)
    raise NotAdmittingError(
        f"Routes are not admitted by the route webhook after {timeout}s: {last}"
    )
