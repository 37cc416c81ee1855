"""Keep OpenShift Group memberships in step with each instance's contribution.

Groups are shared (between instances, and with people editing them), so they are never applied
wholesale: each write is a read-merge-replace guarded by resourceVersion, retried on conflict.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..facts import Instance
from ..render.groups import ROLE_GROUPS, members_annotation, merge_members
from ..render.names import MANAGED_BY
from .kube import ApiError, Kube

log = logging.getLogger(__name__)
ATTEMPTS = 5


async def sync_group(kube: Kube, group: str, key: str, mine: list[str] | None) -> bool:
    """Set (or with None, withdraw) one instance's members of ``group``; True if it wrote."""
    for attempt in range(ATTEMPTS):
        # The cached Group first; after a conflict, the API server's (the cache may lag).
        live = await kube.get("Group", group, live=attempt > 0)
        try:
            if live is None:
                if mine is None:
                    return False
                await kube.create(_new_group(group, key, mine))
                return True
            meta = live["metadata"]
            annotations = dict(meta.get("annotations") or {})
            if mine is None and key not in annotations:
                return False
            users, change = merge_members(live.get("users"), annotations, key, mine)
            for name, value in change.items():
                if value is None:
                    annotations.pop(name, None)
                else:
                    annotations[name] = value
            if users == sorted(live.get("users") or []) and annotations == (
                meta.get("annotations") or {}
            ):
                return False
            ours = (meta.get("labels") or {}).get("app.kubernetes.io/managed-by") == MANAGED_BY
            contributions = [a for a in annotations if a.startswith("members.litemaas.io/")]
            if ours and not users and not contributions:
                await kube.delete("Group", group)
                return True
            await kube.replace(
                {**live, "metadata": {**meta, "annotations": annotations}, "users": users}
            )
            return True
        except ApiError as err:
            if not err.conflict:
                raise
            log.info("group %s changed while merging members; retrying", group)
    raise RuntimeError(f"group {group} kept changing; will retry on the next reconcile")


def _new_group(group: str, key: str, users: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "user.openshift.io/v1",
        "kind": "Group",
        "metadata": {
            "name": group,
            "labels": {
                "app.kubernetes.io/part-of": "litemaas",
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
            "annotations": {key: json.dumps(sorted(users))},
        },
        "users": sorted(users),
    }


async def sync_groups(kube: Kube, instance: Instance, desired: dict[str, list[str]]) -> int:
    """Bring all three role groups in line with ``desired``; returns the number of writes."""
    key = members_annotation(instance)
    writes = 0
    for group in ROLE_GROUPS.values():
        writes += await sync_group(kube, group, key, desired.get(group))
    return writes
