"""Keep OpenShift Group memberships in step with each instance's contribution.

Groups are shared (between instances, and with people editing them), so they are never applied
wholesale: each write is a read-merge-replace guarded by resourceVersion, retried on conflict.
The instances of one process do not write a Group each: their changes go through the process's
``GroupWriter``, which merges all those pending for a Group into one write.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from typing import Any

from ..facts import Instance
from ..render.groups import MEMBERS_PREFIX, ROLE_GROUPS, members_annotation, merge_changes
from ..render.names import MANAGED_BY
from .group_writer import Change, GroupWriter
from .kube import ApiError, Kube
from .together import gather_all

log = logging.getLogger(__name__)
ATTEMPTS = 5
# A batch of Group changes stays open this long (seconds) before its write: long enough for
# reconciles started together to join, short beside a reconcile that has to write a Group.
BATCH_WINDOW = 0.25
# One writer per client (one per process in production; tests may make several clients).
_WRITERS: weakref.WeakKeyDictionary[Kube, GroupWriter] = weakref.WeakKeyDictionary()


async def write_group(kube: Kube, group: str, changes: Mapping[str, Change]) -> set[str]:
    """One read-merge-replace of ``group`` with several instances' changes.

    Returns the keys whose change altered the Group (empty: nothing was written).
    """
    for attempt in range(ATTEMPTS):
        # The cached Group first; after a conflict, the API server's (the cache may lag).
        live = await kube.get("Group", group, live=attempt > 0)
        try:
            if live is None:
                wanted = {key: mine for key, mine in changes.items() if mine is not None}
                if not wanted:
                    return set()
                users, annotations, changed = merge_changes([], {}, wanted)
                await kube.create(_new_group(group, annotations, users))
                return changed
            meta = live["metadata"]
            users, annotations, changed = merge_changes(
                live.get("users"), meta.get("annotations"), changes
            )
            if users == sorted(live.get("users") or []) and annotations == (
                meta.get("annotations") or {}
            ):
                return set()
            ours = (meta.get("labels") or {}).get("app.kubernetes.io/managed-by") == MANAGED_BY
            contributions = [a for a in annotations if a.startswith(MEMBERS_PREFIX)]
            if ours and not users and not contributions:
                await kube.delete("Group", group)
                return changed
            await kube.replace(
                {**live, "metadata": {**meta, "annotations": annotations}, "users": users}
            )
            return changed
        except ApiError as err:
            if not err.conflict:
                raise
            log.info("group %s changed while merging members; retrying", group)
    raise RuntimeError(f"group {group} kept changing; will retry on the next reconcile")


def _new_group(group: str, annotations: dict[str, str], users: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "user.openshift.io/v1",
        "kind": "Group",
        "metadata": {
            "name": group,
            "labels": {
                "app.kubernetes.io/part-of": "litemaas",
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
            "annotations": annotations,
        },
        "users": users,
    }


def writer_for(kube: Kube) -> GroupWriter:
    """The Group writer of this client, made on first use."""
    writer = _WRITERS.get(kube)
    if writer is None:
        # A weak reference: the writer (the dictionary's value) must not keep its key alive.
        ref = weakref.ref(kube)

        async def write(group: str, changes: Mapping[str, Change]) -> set[str]:
            client = ref()
            if client is None:
                raise RuntimeError("the client of this Group writer is gone")
            return await write_group(client, group, changes)

        writer = _WRITERS[kube] = GroupWriter(write, BATCH_WINDOW)
    return writer


async def sync_group(kube: Kube, group: str, key: str, mine: list[str] | None) -> bool:
    """Set (or with None, withdraw) one instance's members of ``group``; True if it changed."""
    # Nothing to change (a resync, mostly): answered from the cached Group, no batch to wait on.
    cached = await kube.get("Group", group)
    if cached is None and mine is None:
        return False
    if cached is not None:
        _, _, changed = merge_changes(
            cached.get("users"), cached["metadata"].get("annotations"), {key: mine}
        )
        if not changed:
            return False
    return await writer_for(kube).submit(group, key, mine)


async def sync_groups(kube: Kube, instance: Instance, desired: dict[str, list[str]]) -> int:
    """Bring all three role groups in line with ``desired``; returns the number changed."""
    key = members_annotation(instance)
    results = await gather_all(
        sync_group(kube, group, key, desired.get(group)) for group in ROLE_GROUPS.values()
    )
    return sum(results)
