"""What the operator lists and watches, as the API server's audit log records it.

The security promise: Secrets (and every other child kind) reach the operator only through
watches the API server filters, i.e. with the ``managed-by`` label selector in the request,
plus unfiltered Secret watches confined to the namespaces where a CR reads a user's Secret, for
as long as one does. No request of the operator lists or watches a child kind without the
selector anywhere else, and in particular never cluster-wide.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from harness.waiting import wait_until
from litemaas_operator.controller.apply import NAMESPACED_KINDS
from litemaas_operator.controller.kube import KINDS
from support import audit
from support.crs import CRs, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

MANAGED_SELECTOR = "app.kubernetes.io/managed-by=litemaas-operator"
CHILDREN = {(KINDS[k].api_version.rpartition("/")[0], KINDS[k].plural) for k in NAMESPACED_KINDS}
WAKE_SECONDS = 10  # README: drift is restored within 10 s; the resync is far longer here
BACKEND = "litemaas-backend"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[audit.AuditedCluster]:
    """A cluster of its own: the shared ones keep no audit log."""
    with audit.started(tmp_path_factory.mktemp("audited")) as audited:
        yield audited


def _namespace(cluster: Any, stem: str) -> str:
    name = f"{stem}-{time.time_ns() % 10**9}"
    cluster.kubectl("create", "namespace", name)
    wait_until(
        lambda: cluster.kubectl("get", "sa", "default", "-n", name, check=False).returncode == 0,
        30,
        what=f"ServiceAccount {name}/default",
    )
    return name


def _secret_requests(cluster: Any) -> Counter[str]:
    """kube-apiserver's own count of LIST/WATCH requests on secrets (every client's)."""
    counts: Counter[str] = Counter()
    for line in cluster.metrics_text().splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if labels.get("resource") == "secrets" and labels.get("verb") in ("LIST", "WATCH"):
            counts[f"{labels['verb']} {labels.get('scope')}"] += int(float(line.split()[-1]))
    return counts


def _describe(r: audit.Request) -> str:
    return f"{r.verb} {r.resource} in {r.namespace or 'all namespaces'}: " + (
        r.label_selector or "no selector"
    )


def _reader_watch_ended(requests: list[audit.Request], namespace: str) -> bool:
    """Whether unfiltered Secret watches were opened in ``namespace``, and all have ended."""
    ours = [
        r
        for r in requests
        if (r.verb, r.resource, r.namespace) == ("watch", "secrets", namespace)
        and not r.label_selector
    ]
    opened = {r.audit_id for r in ours if r.started}
    return bool(opened) and opened <= {r.audit_id for r in ours if r.completed}


@pytest.mark.parametrize("scope", ["all-namespaces", "listed-namespaces"])
def test_secrets_and_children_are_only_watched_through_server_side_filters(
    audited: audit.AuditedCluster, scope: str
):
    cluster = audited.cluster
    reader, bystander = _namespace(cluster, "reads"), _namespace(cluster, "bystander")
    crs = CRs(cluster, reader)
    crs.create_secret("my-jwt", {"jwt": "a-jwt-secret-the-user-chose-0123456789"})
    CRs(cluster, bystander).create_secret("unrelated", {"token": "not-the-operators-business"})
    mark = len(audited.requests())
    metrics_before = _secret_requests(cluster)

    # A resync longer than the test: whatever is restored or rolled was woken by a watch.
    operator = OperatorProcess(
        audited.operator_kubeconfig,
        [] if scope == "all-namespaces" else [reader, bystander],
        resync_seconds=3600,
    ).start()
    try:
        body = sample("litemaas-cr")
        body["spec"]["secrets"] = {"jwtSecret": {"name": "my-jwt", "key": "jwt"}}
        crs.create(body)
        crs.wait_ready(timeout=120)

        # A child deleted by hand is put back: the label-selected Deployment watch woke the CR.
        crs.apps.delete_namespaced_deployment(BACKEND, reader)
        started = time.monotonic()
        wait_until(
            lambda: (d := crs.deployment(BACKEND)) and not d.metadata.deletion_timestamp,
            WAKE_SECONDS,
            what="backend re-created",
        )
        restored = time.monotonic() - started

        # Rotating the user's Secret rolls the backend: the reader namespace's watch woke it.
        before = crs.deployment(BACKEND).spec.template.metadata.annotations
        crs.core.patch_namespaced_secret(
            "my-jwt", reader, {"stringData": {"jwt": "rotated-jwt-secret-0123456789"}}
        )
        started = time.monotonic()
        wait_until(
            lambda: crs.deployment(BACKEND).spec.template.metadata.annotations != before,
            WAKE_SECONDS,
            what="backend rolled after my-jwt changed",
        )
        rolled = time.monotonic() - started

        # The last reader goes: the unfiltered Secret watch of its namespace ends.
        crs.delete()
        crs.wait_gone(timeout=60)
        try:
            wait_until(lambda: _reader_watch_ended(audited.requests()[mark:], reader), WAKE_SECONDS)
            ended = True
        except TimeoutError:
            ended = False  # asserted below, after the requests are shown
    finally:
        operator.stop()
    metrics_after = _secret_requests(cluster)

    children = [
        r
        for r in audited.requests()[mark:]
        if r.verb in ("list", "watch") and (r.api_group, r.resource) in CHILDREN
    ]
    opened = [r for r in children if r.verb == "list" or r.started]  # one record per request
    print(f"\n{scope}: child restored in {restored:.2f}s, backend rolled in {rolled:.2f}s")
    print("the operator's LIST/WATCH requests on child kinds (audit log):")
    for line, n in sorted(Counter(_describe(r) for r in opened).items()):
        print(f"  {n:3d}  {line}")
    delta = {k: metrics_after[k] - metrics_before[k] for k in sorted(metrics_after)}
    print(f"apiserver_request_total on secrets during the test, all clients: {delta}")

    unfiltered = sorted(
        {
            _describe(r)
            for r in opened
            if MANAGED_SELECTOR not in r.label_selector
            and not (r.resource == "secrets" and r.namespace == reader)
        }
    )
    assert unfiltered == [], "child kinds listed or watched without the managed-by selector"
    if scope == "listed-namespaces":
        assert {r.namespace for r in opened} == {reader, bystander}
    else:  # one filtered watch per kind for all namespaces, plus the reader's Secrets
        assert {r.namespace for r in opened} == {None, reader}
    # Every child kind this cluster serves is watched (Routes too; not ServiceMonitors here:
    # this cluster has no monitoring.coreos.com, and test_watches.py shows unserved kinds wait).
    served = set(cluster.kubectl("api-versions").stdout.split())
    expected = {
        (group, plural)
        for k in NAMESPACED_KINDS
        for group, plural in [(KINDS[k].api_version.rpartition("/")[0], KINDS[k].plural)]
        if KINDS[k].api_version in served
    }
    assert {(r.api_group, r.resource) for r in opened if r.verb == "watch"} == expected
    assert ended, f"the unfiltered Secret watch in {reader} outlived the last reader"
    assert restored < WAKE_SECONDS and rolled < WAKE_SECONDS
