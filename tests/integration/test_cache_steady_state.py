"""A steady-state resync reads nothing from the API server, and the caches still see changes.

The operator runs against a cluster whose API server audits its requests (``support.audit``),
with a short resync. Once the CR is Ready and settled, several resyncs of it issue no GET, no
LIST and no write on any resource: children, the user's Secret, the OAuthClient, the Groups
and the apps domain all come from the stores the watches keep. Then what changes behind the
operator's back must still be seen through those stores: a deleted and a changed child are put
back, a Group member removed by hand returns, and a changed user Secret rolls the backend.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from harness.waiting import wait_until
from support import audit
from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

RESYNC_SECONDS = 3
BACKEND = "litemaas-backend"
ADMINS = "litemaas-admins"
WRITES = ("create", "update", "patch", "delete", "deletecollection")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[audit.AuditedCluster]:
    """A cluster of its own: the shared ones keep no audit log."""
    with audit.started(tmp_path_factory.mktemp("audited-cache")) as audited:
        yield audited


def _reconciles(operator: OperatorProcess) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in operator.metrics().splitlines()
        if line.startswith("litemaas_operator_reconciles_total")
    )


def _after_reconciles(operator: OperatorProcess, more: int) -> None:
    """Wait until the operator has finished ``more`` reconciles (resyncs, here)."""
    target = _reconciles(operator) + more
    wait_until(lambda: _reconciles(operator) >= target, 10 * RESYNC_SECONDS * more)


def _describe(r: audit.Request) -> str:
    where = r.namespace or "cluster"
    return f"{r.verb} {r.api_group or 'core'}/{r.resource} ({where})"


def test_a_resync_reads_from_caches_and_they_still_see_changes(audited: audit.AuditedCluster):
    cluster = audited.cluster
    namespace = f"cached-{time.time_ns() % 10**9}"
    cluster.kubectl("create", "namespace", namespace)
    crs = CRs(cluster, namespace)
    crs.create_secret("my-jwt", {"jwt": "a-jwt-secret-the-user-chose-0123456789"})
    custom = client.CustomObjectsApi(cluster.api_client())
    operator = OperatorProcess(audited.operator_kubeconfig, [], resync_seconds=RESYNC_SECONDS)
    operator.start()
    try:
        body = sample("litemaas-cr")  # OAuthClient, Routes, three managed Groups
        body["spec"]["secrets"] = {"jwtSecret": {"name": "my-jwt", "key": "jwt"}}
        crs.create(body)
        crs.wait_ready(timeout=120)
        _after_reconciles(operator, 3)  # settled: the status write's own wake-up is over

        mark = len(audit_records := audited.requests())
        _after_reconciles(operator, 3)
        window = [r for r in audited.requests()[mark:] if r.completed and r.verb != "watch"]
        by_kind = Counter(_describe(r) for r in window)
        print(f"\nthe operator's requests in 3 resyncs (audit log): {dict(by_kind) or 'none'}")
        print(f"(before: {len(audit_records)} records, creation included)")
        # Discovery (/apis) and the OAuth metadata are per process, cached for all CRs.
        resource_reads = [
            r for r in window if r.verb in ("get", "list") and not r.resource.startswith("/")
        ]
        writes = [r for r in window if r.verb in WRITES]
        assert resource_reads == [], [_describe(r) for r in resource_reads]
        assert writes == [], [_describe(r) for r in writes]

        # A child deleted behind the operator's back is put back (the store saw it go).
        crs.apps.delete_namespaced_deployment(BACKEND, namespace)
        wait_until(
            lambda: (d := crs.deployment(BACKEND)) and not d.metadata.deletion_timestamp,
            30,
            what="backend re-created",
        )
        # A child changed behind its back is put back (the store saw the change).
        crs.apps.patch_namespaced_deployment(BACKEND, namespace, {"spec": {"replicas": 3}})
        wait_until(lambda: crs.deployment(BACKEND).spec.replicas == 1, 30, what="replicas reset")

        # A member removed from a shared Group by hand returns on the next resync.
        group = custom.get_cluster_custom_object("user.openshift.io", "v1", "groups", ADMINS)
        assert "admin" in group["users"]
        custom.patch_cluster_custom_object(
            "user.openshift.io", "v1", "groups", ADMINS, {"users": []}
        )
        wait_until(
            lambda: (
                "admin"
                in custom.get_cluster_custom_object("user.openshift.io", "v1", "groups", ADMINS)[
                    "users"
                ]
            ),
            30,
            what="admin back in litemaas-admins",
        )

        # The user's Secret changes: the backend rolls with the new value.
        before = crs.deployment(BACKEND).spec.template.metadata.annotations
        crs.core.patch_namespaced_secret(
            "my-jwt", namespace, {"stringData": {"jwt": "rotated-jwt-secret-0123456789"}}
        )
        wait_until(
            lambda: crs.deployment(BACKEND).spec.template.metadata.annotations != before,
            30,
            what="backend rolled after my-jwt changed",
        )
        crs.wait_ready(timeout=60)
    finally:
        operator.stop()
        log: Any = operator.logs()
    assert "Traceback" not in log, log[-3000:]
