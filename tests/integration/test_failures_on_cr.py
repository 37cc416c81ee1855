"""Any reconcile failure shows on the CR, whatever the API server's status code.

A validating webhook that cannot be reached (failurePolicy Fail) makes the real API server
answer 500 for the objects it covers: an error the operator can only retry. Before, such a CR
kept an empty status (a new one) or kept saying Ready (an old one with a new generation).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from harness.waiting import wait_until
from support.crs import CRs, sample

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture(scope="session")
def cluster(openshift_cluster):
    return openshift_cluster


def unreachable_webhook(cluster: Any, namespace: str, resource: str) -> str:
    """A webhook on ``resource`` in ``namespace`` whose server does not exist: every write 500s."""
    name = f"unreachable-{uuid.uuid4().hex[:6]}.litemaas.io"
    body = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [
            {
                "name": name,
                "clientConfig": {"url": "https://127.0.0.1:1/validate"},
                "rules": [
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [resource],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 2,
            }
        ],
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(body))
    return name


def events(crs: CRs, name: str) -> list[Any]:
    return [
        e
        for e in crs.core.list_namespaced_event(crs.namespace).items
        if e.involved_object.name == name and e.involved_object.kind == "LiteMaaS"
    ]


def test_a_failing_new_cr_says_why_then_stalls_then_recovers(cluster, crs: CRs, operator):
    hook = unreachable_webhook(cluster, crs.namespace, "deployments")
    try:
        crs.create(sample("litemaas-cr"))
        # Within the first backoffs (1 s, 2 s, 4 s): the error is on the CR, not only in a log.
        cond = crs.wait_condition("litemaas", "Ready", "False", timeout=30)
        assert cond["reason"] == "ReconcileFailed"
        assert "webhook" in cond["message"]
        assert crs.get()["status"]["observedGeneration"] == 1
        stalled = crs.wait_condition("litemaas", "Stalled", "True", timeout=60)
        assert stalled["reason"] == "ReconcileFailed"
        wait_until(
            lambda: any(e.reason == "ReconcileFailed" for e in events(crs, "litemaas")),
            30,
            what="a ReconcileFailed Event",
        )
    finally:
        cluster.kubectl("delete", "validatingwebhookconfiguration", hook)
    crs.wait_ready(timeout=120)
    assert crs.condition("litemaas", "Stalled")["status"] == "False"


def test_a_ready_cr_whose_new_generation_fails_stops_saying_ready(cluster, crs: CRs, operator):
    crs.create(sample("litemaas-cr"))
    crs.wait_ready()
    hook = unreachable_webhook(cluster, crs.namespace, "deployments")
    try:
        crs.patch_spec("litemaas", {"backend": {"logLevel": "debug"}})
        cond = crs.wait_condition("litemaas", "Ready", "False", timeout=30)
        assert cond["reason"] == "ReconcileFailed" and cond["observedGeneration"] == 2
    finally:
        cluster.kubectl("delete", "validatingwebhookconfiguration", hook)
    crs.wait_ready(timeout=120)
    env = crs.deployment("litemaas-backend").spec.template.spec.containers[0].env
    assert [e.value for e in env if e.name == "LOG_LEVEL"] == ["debug"]


def test_extra_env_naming_an_operator_variable_overrides_it(crs: CRs, operator):
    body = sample("litemaas-cr")
    body["spec"]["backend"] = {"extraEnv": [{"name": "LOG_LEVEL", "value": "trace"}]}
    crs.create(body)
    crs.wait_ready()
    env = crs.deployment("litemaas-backend").spec.template.spec.containers[0].env
    assert [e.value for e in env if e.name == "LOG_LEVEL"] == ["trace"]
