"""OpenShift Groups mapping users to LiteMaaS roles, shared safely between instances.

A Group is cluster-scoped and may be shared by several LiteMaaS instances (and by people editing
it by hand). Each instance records the members it contributed in an annotation of its own, so
the member list can be recomputed as: members nobody's annotation explains (kept, they were added
by hand) plus the union of every instance's contribution. Deleting an instance removes only what
it alone contributed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..api.spec import GroupsSpec
from ..facts import Instance
from .names import MANAGED_BY

ROLE_GROUPS = {
    "admins": "litemaas-admins",
    "readonly": "litemaas-readonly",
    "users": "litemaas-users",
}
MEMBERS_PREFIX = "members.litemaas.io/"


def members_annotation(instance: Instance) -> str:
    """This instance's annotation key on a Group (name part <= 63 chars, unique per instance)."""
    readable = f"{instance.namespace}.{instance.name}"
    digest = hashlib.sha256(readable.encode()).hexdigest()[:8]
    return f"{MEMBERS_PREFIX}{readable[:54]}.{digest}"


def desired_groups(spec: GroupsSpec, instance: Instance) -> dict[str, list[str]]:
    """Group name -> the members this instance contributes (empty when groups are unmanaged)."""
    if not spec.manage:
        return {}
    return {group: sorted(set(getattr(spec, role))) for role, group in ROLE_GROUPS.items()}


def _members(value: str) -> set[str]:
    """An instance's recorded members; an unreadable record explains nobody (they are kept)."""
    try:
        parsed = json.loads(value)
    except (ValueError, TypeError):
        return set()
    # A JSON string would otherwise turn into the set of its characters.
    if not isinstance(parsed, list):
        return set()
    return {m for m in parsed if isinstance(m, str)}


def merge_members(
    current: list[str] | None,
    annotations: Mapping[str, str] | None,
    key: str,
    mine: list[str] | None,
) -> tuple[list[str], dict[str, str | None]]:
    """Recompute a Group's users after this instance sets (or, with None, drops) its members.

    Returns the new users list and the annotation change (value None deletes the key).
    """
    contributions: dict[str, set[str]] = {}
    for name, value in (annotations or {}).items():
        if name.startswith(MEMBERS_PREFIX):
            contributions[name] = _members(value)
    explained = set().union(*contributions.values()) if contributions else set()
    by_hand = set(current or []) - explained
    if mine is None:
        contributions.pop(key, None)
        patch: dict[str, str | None] = {key: None}
    else:
        contributions[key] = set(mine)
        patch = {key: json.dumps(sorted(mine))}
    users = by_hand.union(*contributions.values()) if contributions else by_hand
    return sorted(users), patch


def group_manifest(name: str, users: list[str], instance: Instance) -> dict[str, Any]:
    """A Group as ``render`` shows it (the reconciler merges members instead of applying)."""
    return {
        "apiVersion": "user.openshift.io/v1",
        "kind": "Group",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": "litemaas",
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
            "annotations": {members_annotation(instance): json.dumps(users)},
        },
        "users": users,
    }
