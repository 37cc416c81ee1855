"""Instances created together share the Groups' writes, and lose no member doing so.

Every instance contributes members to the same three Groups. The operator's Group writer merges
the changes pending for a Group into one read-merge-replace, so ten CRs appearing at once do not
mean ten writes of each Group (each racing the others on resourceVersion). The API server's
audit log (``support.audit``) counts the operator's writes of Groups; the Groups' contents show
that no instance's members were lost in the merging, on creation and on deletion together.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from harness.waiting import wait_until
from litemaas_operator.facts import Instance
from litemaas_operator.render.groups import ROLE_GROUPS, members_annotation
from support import audit
from support.crs import CRs, install_crd, sample
from support.operator import OperatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

INSTANCES = 10
WRITES = ("create", "update", "patch", "delete")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[audit.AuditedCluster]:
    """A cluster of its own: the shared ones keep no audit log."""
    try:
        audited = audit.start(tmp_path_factory.mktemp("audited-groups"))
    except Exception as err:  # binaries missing, ports taken: say so, as the harness does
        pytest.fail(f"audited cluster unavailable: {err}", pytrace=False)
    install_crd(audited.cluster)
    yield audited
    audited.stop()


def _group_writes(audited: audit.AuditedCluster, since: int) -> Counter[str]:
    """The operator's writes of each Group after the ``since``-th audit record."""
    return Counter(
        r.name
        for r in audited.requests()[since:]
        if r.completed
        and r.api_group == "user.openshift.io"
        and r.resource == "groups"
        and r.verb in WRITES
    )


def test_instances_created_together_share_each_groups_writes(audited: audit.AuditedCluster):
    cluster = audited.cluster
    custom = client.CustomObjectsApi(cluster.api_client())
    run = time.time_ns() % 10**9
    namespaces = [f"groups-{run}-{i}" for i in range(INSTANCES)]
    admins = {ns: f"admin-{ns}" for ns in namespaces}
    users = {ns: f"user-{ns}" for ns in namespaces}

    def group(name: str) -> dict[str, Any] | None:
        try:
            return custom.get_cluster_custom_object("user.openshift.io", "v1", "groups", name)
        except client.ApiException as err:
            if err.status == 404:
                return None
            raise

    def members(name: str) -> set[str]:
        return set((group(name) or {}).get("users") or [])

    def recorded(name: str) -> set[str]:
        return set(((group(name) or {}).get("metadata") or {}).get("annotations") or {})

    keys = {members_annotation(Instance("litemaas", ns)) for ns in namespaces}
    crs = []
    for ns in namespaces:
        cluster.kubectl("create", "namespace", ns)
        body = sample("litemaas-cr")
        body["spec"]["groups"] = {
            "manage": True,
            "admins": [admins[ns], "shared-admin"],
            "users": [users[ns]],
        }
        crs.append(CRs(cluster, ns))
        crs[-1].create(body)
    # All the CRs exist before the operator starts: it meets them at once.
    mark = len(audited.requests())
    operator = OperatorProcess(audited.operator_kubeconfig, namespaces)
    operator.start()
    try:
        wait_until(
            lambda: all(keys <= recorded(g) for g in ROLE_GROUPS.values()),
            240,
            what="every instance recorded in every Group",
        )
        assert members("litemaas-admins") == {*admins.values(), "shared-admin"}
        assert members("litemaas-users") == set(users.values())
        assert members("litemaas-readonly") == set()
        for ns in namespaces:  # each records only its own members (and the shared one)
            record = group("litemaas-admins")["metadata"]["annotations"]
            key = members_annotation(Instance("litemaas", ns))
            assert json.loads(record[key]) == sorted([admins[ns], "shared-admin"])
        created = _group_writes(audited, mark)
        print(f"\nGroup writes for {INSTANCES} instances created at once: {dict(created)}")
        for name in ROLE_GROUPS.values():
            assert 1 <= created[name] < INSTANCES, created

        # Deleted together (each finalizer withdraws its instance, through the same writer): a
        # member added by hand outlives them all, and the emptied Groups go.
        admins_group = group("litemaas-admins")
        assert admins_group is not None
        admins_group["users"] = sorted({*admins_group["users"], "by-hand"})
        custom.replace_cluster_custom_object(
            "user.openshift.io", "v1", "groups", "litemaas-admins", admins_group
        )
        mark = len(audited.requests())
        for each in crs:
            each.delete()
        for each in crs:
            each.wait_gone(timeout=120)
        deleted = _group_writes(audited, mark)
        print(f"Group writes for {INSTANCES} instances deleted at once: {dict(deleted)}")
        assert members("litemaas-admins") == {"by-hand"}
        assert group("litemaas-users") is None  # ours, emptied: deleted
        assert group("litemaas-readonly") is None
        assert not keys & recorded("litemaas-admins")
    finally:
        operator.stop()
        log = operator.logs()
    assert "Traceback" not in log, log[-3000:]
