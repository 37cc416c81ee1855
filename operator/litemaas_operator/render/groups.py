"""OpenShift Groups mapping users to LiteMaaS roles, shared safely between instances.

A Group is cluster-scoped and may be shared by several LiteMaaS instances (and by people editing
it by hand). Each instance records the members it added in an annotation of its own, so the
member list can be recomputed as: members nobody's annotation explains (kept, they were added by
hand) plus the union of every instance's record. Deleting an instance removes only what it alone
added; a member who was there before it is never recorded, so never removed.
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

    An instance records only the members it *added*: someone already in the Group whom no
    instance's record explains was put there by hand, and stays whatever the instance does
    (even when the instance lists them too). Members another instance also wants are recorded by
    both, so either can go without taking them away from the other.

    Returns the new users list and the annotation change (value None deletes the key).
    """
    contributions: dict[str, set[str]] = {}
    for name, value in (annotations or {}).items():
        if name.startswith(MEMBERS_PREFIX):
            contributions[name] = _members(value)
    ours_before = contributions.pop(key, set())
    others = set().union(*contributions.values())
    by_hand = set(current or []) - others - ours_before
    if mine is None:
        return sorted(by_hand | others), {key: None}
    added = set(mine) - by_hand
    return sorted(by_hand | others | added), {key: json.dumps(sorted(added))}


def merge_changes(
    current: list[str] | None,
    annotations: Mapping[str, str] | None,
    changes: Mapping[str, list[str] | None],
) -> tuple[list[str], dict[str, str], set[str]]:
    """Apply several instances' changes (annotation key -> members, None withdraws) at once.

    The result is what ``merge_members`` gives applied once per instance, in key order: the same
    rules whether a Group is written once per instance or once for a batch of them. Withdrawing
    an instance that recorded nothing changes nothing (it never touches the members).

    Returns the new users, the new annotations and the keys whose change altered the Group.
    """
    users = sorted(set(current or []))
    notes = dict(annotations or {})
    changed: set[str] = set()
    for key in sorted(changes):
        mine = changes[key]
        if mine is None and key not in notes:
            continue
        new_users, change = merge_members(users, notes, key, mine)
        new_notes = dict(notes)
        for name, value in change.items():
            if value is None:
                new_notes.pop(name, None)
            else:
                new_notes[name] = value
        if new_users != users or new_notes != notes:
            changed.add(key)
        users, notes = new_users, new_notes
    return users, notes, changed


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
