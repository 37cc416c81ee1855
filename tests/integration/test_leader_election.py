"""Two operator replicas behind a Lease: one reconciles, the other takes over when it dies.

The cluster is an audited one (tests/support/audit.py): both processes talk as the operator's
user, and the API server's audit log tells them apart by User-Agent (``... (op-a)``), so "no
object written by both during the hand-over" is read from the API server's own record of every
write and its receive time, not from the processes' logs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.request import urlopen

import pytest

from harness.waiting import wait_until
from support import audit
from support.crs import CRs, sample
from support.install import new_namespace
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration]

LEASE = "litemaas-operator-leader"
WRITES = {"create", "update", "patch", "delete", "deletecollection"}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[audit.AuditedCluster]:
    """A cluster of its own whose API server logs the operator's requests."""
    with audit.started(tmp_path_factory.mktemp("audited-leader")) as audited:
        yield audited


class Pair:
    """Two replicas ``op-a`` and ``op-b`` electing a leader on a Lease in ``namespace``."""

    def __init__(self, audited: audit.AuditedCluster, namespace: str) -> None:
        self.audited = audited
        self.namespace = namespace
        self.ops = {
            who: OperatorProcess(
                audited.operator_kubeconfig,
                [namespace],
                extra_env={
                    "POD_ID": self.identity(who),
                    "LEADER_ELECT": "true",
                    "LEASE_NAMESPACE": namespace,
                },
            )
            for who in ("op-a", "op-b")
        }

    def identity(self, who: str) -> str:
        """``who``'s identity: unique per test, as the audit log is shared by the module's."""
        return f"{who}.{self.namespace}"

    def lease(self) -> dict[str, Any]:
        """The Lease's spec ({} while there is none)."""
        out = self.audited.cluster.kubectl(
            "get", "lease", LEASE, "-n", self.namespace, "-o", "json", check=False
        )
        return json.loads(out.stdout)["spec"] if out.returncode == 0 else {}

    def holder(self) -> str | None:
        """Who holds the Lease: ``op-a``, ``op-b`` or None."""
        identity = self.lease().get("holderIdentity")
        return next((who for who in self.ops if self.identity(who) == identity), identity)

    def leading(self, who: str) -> float:
        """The process's own ``litemaas_operator_leader`` gauge (0 once it has exited)."""
        try:
            page = self.ops[who].metrics()
        except OSError:
            if self.ops[who].alive():
                raise
            return 0.0
        for line in page.splitlines():
            if line.startswith("litemaas_operator_leader "):
                return float(line.split()[1])
        raise AssertionError("litemaas_operator_leader not exported")

    def health(self, who: str) -> str:
        """The body of ``who``'s /healthz: ``{"standby": true}`` until it leads, Kopf's after."""
        url = f"http://127.0.0.1:{self.ops[who].health_port}/healthz"
        try:
            with urlopen(url, timeout=5) as resp:
                return resp.read().decode()
        except OSError:
            return ""

    def writes(self, who: str) -> list[audit.Request]:
        """Every write the API server received from ``who`` (the Lease's included)."""
        return [r for r in self.requests(who) if r.verb in WRITES]

    def requests(self, who: str) -> list[audit.Request]:
        """Every request of ``who`` that the API server completed (ours and Kopf's)."""
        mark = f"({self.identity(who)})"
        return [r for r in self.audited.requests() if r.completed and mark in r.user_agent]

    def stop(self) -> None:
        """Stop whichever still runs."""
        for op in self.ops.values():
            op.stop()


@pytest.fixture
def pair(audited: audit.AuditedCluster) -> Iterator[Pair]:
    """``op-a`` leading (it started first), ``op-b`` standing by, in a namespace of their own."""
    cluster = audited.cluster
    namespace = new_namespace(cluster, "leader")
    pair = Pair(audited, namespace)
    pair.ops["op-a"].start()
    wait_until(lambda: pair.holder() == "op-a", 30, what="op-a holding the Lease")
    pair.ops["op-b"].start()  # its /healthz answers while it stands by
    try:
        yield pair
    finally:
        crs = CRs(cluster, namespace)
        leader = next((op for op in pair.ops.values() if op.alive()), None)
        if leader is not None:  # a live replica runs the finalizers
            for cr in crs.custom.list_namespaced_custom_object(
                "litemaas.io", "v1alpha1", namespace, "litemaases"
            )["items"]:
                crs.delete(cr["metadata"]["name"])
                crs.wait_gone(cr["metadata"]["name"], timeout=90)
        pair.stop()


def assert_one_writer_at_a_time(pair: Pair, first: str, second: str) -> None:
    """Every write of ``first`` reached the API server before any write of ``second``."""
    before, after = pair.writes(first), pair.writes(second)
    assert before and after
    last = max(r.received for r in before)
    earliest = min(r.received for r in after)
    assert last < earliest, (
        f"{first} wrote at {last}, after {second} began writing at {earliest}: "
        + ", ".join(f"{r.verb} {r.resource}/{r.name}" for r in before if r.received >= earliest)
    )


@pytest.mark.timeout(420)
def test_the_standby_takes_over_from_a_killed_leader_and_the_two_never_write_together(
    pair: Pair,
) -> None:
    crs = CRs(pair.audited.cluster, pair.namespace)
    crs.create(sample("litemaas-cr"))
    crs.wait_ready(timeout=150)

    # Exactly one reconciles: the standby only reads the Lease, and says it does not lead.
    standby = pair.requests("op-b")
    assert standby, "op-b sent nothing: it is not campaigning"
    assert {(r.verb, r.resource) for r in standby} == {("get", "leases")}, standby
    assert (pair.leading("op-a"), pair.leading("op-b")) == (1.0, 0.0)
    assert "waiting to lead" in pair.ops["op-b"].logs()
    assert "standby" in pair.health("op-b") and "standby" not in pair.health("op-a")

    pair.ops["op-a"].kill()  # SIGKILL: no release, the Lease has to expire
    killed = time.monotonic()
    wait_until(lambda: pair.holder() == "op-b", 60, 0.2, "op-b holding the Lease")
    takeover = time.monotonic() - killed
    print(f"failover after SIGKILL: the standby held the Lease {takeover:.1f}s after the kill")
    lease = pair.lease()
    assert lease["leaseTransitions"] == 1
    assert pair.leading("op-b") == 1.0
    # Kopf's liveness endpoint took over the port from the standby's.
    wait_until(
        lambda: pair.health("op-b").startswith("{") and "standby" not in pair.health("op-b"),
        30,
        what="op-b's Kopf /healthz",
    )

    # A resource changed and one created after the kill both converge under the new leader.
    crs.patch_spec("litemaas", {"frontend": {"replicas": 2}})
    second = sample("litemaas-cr")
    second["metadata"]["name"] = "second"
    crs.create(second, name="second")
    crs.wait_ready("second", timeout=150)
    wait_until(
        lambda: crs.deployment("litemaas-frontend").spec.replicas == 2,
        90,
        what="the frontend scaled by the new leader",
    )
    crs.wait_ready(timeout=120)
    assert_one_writer_at_a_time(pair, "op-a", "op-b")
    written = {(r.resource, r.name) for r in pair.writes("op-b")}
    assert ("litemaases", "second") in written or ("deployments", "second-backend") in written


@pytest.mark.timeout(300)
def test_a_leader_stopped_cleanly_hands_the_lease_over_at_once(pair: Pair) -> None:
    crs = CRs(pair.audited.cluster, pair.namespace)
    crs.create(sample("litemaas-cr"))
    crs.wait_ready(timeout=150)
    pair.ops["op-a"].stop()  # SIGTERM, as a rolling update does
    assert "released lease" in pair.ops["op-a"].logs()
    assert pair.holder() in (None, "op-b")  # released: the standby may have taken it already
    wait_until(lambda: pair.holder() == "op-b", 30, 0.2, "op-b holding the Lease")
    crs.patch_spec("litemaas", {"frontend": {"replicas": 2}})
    wait_until(
        lambda: crs.deployment("litemaas-frontend").spec.replicas == 2,
        90,
        what="the frontend scaled by the new leader",
    )
    assert_one_writer_at_a_time(pair, "op-a", "op-b")


@pytest.mark.timeout(420)
@pytest.mark.parametrize("downtime", [0.0, 14.0], ids=["restart", "outage-past-renew-deadline"])
def test_an_api_server_restart_leaves_one_leader(pair: Pair, downtime: float) -> None:
    crs = CRs(pair.audited.cluster, pair.namespace)
    crs.create(sample("litemaas-cr"))
    crs.wait_ready(timeout=150)
    control_plane = pair.audited.cluster.control_plane
    assert control_plane is not None
    control_plane.restart_apiserver(downtime=downtime)
    # Each replica's view, sampled until the Lease settles: never two claiming to lead.
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        leading = [who for who, op in pair.ops.items() if op.alive() and pair.leading(who)]
        assert len(leading) <= 1, leading
        time.sleep(0.5)
    holder = pair.holder()
    assert holder in ("op-a", "op-b")
    alive = [who for who, op in pair.ops.items() if op.alive()]
    print(f"after an API server restart with {downtime:.0f}s down: {holder} leads; alive: {alive}")
    others = [who for who in pair.ops if who != holder]
    for who in others:  # the replica that does not hold the Lease is a standby or has exited
        op = pair.ops[who]
        assert not op.alive() or pair.leading(who) == 0.0
        if not op.alive():
            assert "leadership lost" in op.logs()
            assert op.proc is not None and op.proc.returncode == 1
    crs.patch_spec("litemaas", {"frontend": {"replicas": 2}})
    wait_until(
        lambda: crs.deployment("litemaas-frontend").spec.replicas == 2,
        90,
        what=f"the frontend scaled by {holder}",
    )
    if holder == "op-b":
        assert_one_writer_at_a_time(pair, "op-a", "op-b")
    else:  # the leader kept the Lease: the standby wrote nothing
        assert not pair.writes("op-b")
