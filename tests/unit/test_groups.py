"""Groups shared between LiteMaaS instances and people: who contributed which member.

``merge_members`` is applied here to a Group the way the reconciler applies it (read, merge,
replace), so the tests read as a story of instances and admins editing one Group.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from litemaas_operator.api.spec import GroupsSpec
from litemaas_operator.facts import Instance
from litemaas_operator.render.groups import (
    MEMBERS_PREFIX,
    desired_groups,
    group_manifest,
    members_annotation,
    merge_changes,
    merge_members,
)

A = Instance("litemaas", "team-a")
B = Instance("litemaas", "team-b")
C = Instance("litemaas", "team-c")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def apply(group: dict[str, Any], instance: Instance, mine: list[str] | None) -> dict[str, Any]:
    """What the reconciler does to a live Group for one instance."""
    annotations = dict(group.get("annotations", {}))
    users, change = merge_members(
        group.get("users"), annotations, members_annotation(instance), mine
    )
    for key, value in change.items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    return {"users": users, "annotations": annotations}


def by_hand(group: dict[str, Any], *users: str) -> dict[str, Any]:
    return {**group, "users": sorted({*group.get("users", []), *users})}


EMPTY: dict[str, Any] = {"users": [], "annotations": {}}


def test_one_instance_adds_its_members_and_records_them():
    group = apply(EMPTY, A, ["bob", "alice"])
    assert group["users"] == ["alice", "bob"]
    assert json.loads(group["annotations"][members_annotation(A)]) == ["alice", "bob"]


def test_two_instances_share_a_group_as_a_union():
    group = apply(apply(EMPTY, A, ["alice", "bob"]), B, ["bob", "carol"])
    assert group["users"] == ["alice", "bob", "carol"]


def test_hand_added_members_are_kept_through_updates_and_deletion():
    group = by_hand(apply(EMPTY, A, ["alice"]), "dave")
    group = apply(group, A, ["alice", "erin"])
    assert group["users"] == ["alice", "dave", "erin"]
    group = apply(group, A, None)
    assert group["users"] == ["dave"]


def test_deleting_one_instance_removes_only_what_it_alone_contributed():
    group = apply(apply(EMPTY, A, ["alice", "bob"]), B, ["bob", "carol"])
    group = by_hand(group, "dave")
    group = apply(group, A, None)
    assert group["users"] == ["bob", "carol", "dave"]
    assert members_annotation(A) not in group["annotations"]
    assert members_annotation(B) in group["annotations"]
    group = apply(group, B, None)
    assert group["users"] == ["dave"]
    assert not [k for k in group["annotations"] if k.startswith(MEMBERS_PREFIX)]


def test_dropping_a_member_from_the_spec_removes_it_unless_another_instance_wants_it():
    group = apply(apply(EMPTY, A, ["alice", "bob"]), B, ["bob"])
    group = apply(group, A, ["alice"])
    assert group["users"] == ["alice", "bob"]  # B still contributes bob
    group = apply(group, A, [])
    assert group["users"] == ["bob"]


def test_reapplying_is_a_no_op():
    once = apply(apply(EMPTY, A, ["alice"]), B, ["bob"])
    assert apply(once, A, ["alice"]) == once
    assert apply(once, B, ["bob"]) == once


def test_a_member_who_was_there_by_hand_is_not_recorded_and_survives_deletion():
    # An admin put dave into the Group; a CR then lists dave too. Deleting the CR must not
    # remove him: the CR did not add him.
    group = by_hand(EMPTY, "dave")
    group = apply(group, A, ["dave", "alice"])
    assert group["users"] == ["alice", "dave"]
    assert json.loads(group["annotations"][members_annotation(A)]) == ["alice"]
    assert apply(group, A, None)["users"] == ["dave"]
    # Dropping him from the CR does not remove him either.
    assert apply(group, A, ["alice"])["users"] == ["alice", "dave"]


def test_a_member_another_instance_added_is_recorded_by_both():
    group = apply(apply(EMPTY, A, ["bob"]), B, ["bob"])
    assert json.loads(group["annotations"][members_annotation(B)]) == ["bob"]
    assert apply(group, A, None)["users"] == ["bob"]


def test_a_member_removed_by_hand_comes_back_while_an_instance_lists_it():
    group = apply(EMPTY, A, ["alice"])
    group = {**group, "users": []}
    assert apply(group, A, ["alice"])["users"] == ["alice"]


def test_annotations_of_other_tools_are_left_alone():
    group = {"users": ["x"], "annotations": {"example.com/owner": "platform-team"}}
    group = apply(group, A, ["alice"])
    assert group["annotations"]["example.com/owner"] == "platform-team"
    assert group["users"] == ["alice", "x"]


@pytest.mark.parametrize("record", ["not json", '"alice"', "42", '{"a": 1}', "null"])
def test_an_unreadable_record_explains_nobody(record):
    # Members listed under a corrupt record are treated as hand-added: kept, never removed.
    key = members_annotation(B)
    group = {"users": ["a", "alice", "l"], "annotations": {key: record}}
    group = apply(group, A, ["zed"])
    assert group["users"] == ["a", "alice", "l", "zed"]


def test_annotation_key_is_a_valid_unique_qualified_name():
    long_ns, long_name = "n" * 63, "m" * 40
    keys = {
        members_annotation(Instance(name, ns))
        for ns, name in [
            ("team-a", "litemaas"),
            ("team-b", "litemaas"),
            ("team-a", "other"),
            (long_ns, long_name),
            (long_ns, long_name[:-1] + "x"),  # same truncated prefix, different instance
        ]
    }
    assert len(keys) == 5
    for key in keys:
        prefix, name = key.split("/")
        assert prefix == MEMBERS_PREFIX.rstrip("/")
        assert len(name) <= 63 and QUALIFIED_NAME.match(name), key


def test_desired_groups_only_when_managed():
    assert desired_groups(GroupsSpec.model_validate({"admins": ["alice"]}), A) == {}
    spec = GroupsSpec.model_validate(
        {"manage": True, "admins": ["bob", "alice", "bob"], "users": ["carol"]}
    )
    assert desired_groups(spec, A) == {
        "litemaas-admins": ["alice", "bob"],
        "litemaas-readonly": [],
        "litemaas-users": ["carol"],
    }


def test_group_manifest_is_cluster_scoped_and_labelled():
    group = group_manifest("litemaas-admins", ["alice"], A)
    assert "namespace" not in group["metadata"]
    assert group["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "litemaas-operator"
    assert json.loads(group["metadata"]["annotations"][members_annotation(A)]) == ["alice"]
    assert group["users"] == ["alice"]


# Several instances' changes written at once (one write per Group for a batch of reconciles).


def apply_batch(group: dict[str, Any], changes: dict[Instance, list[str] | None]) -> dict:
    """What the Group writer does with the changes of several instances pending together."""
    users, annotations, _ = merge_changes(
        group.get("users"),
        group.get("annotations"),
        {members_annotation(i): mine for i, mine in changes.items()},
    )
    return {"users": users, "annotations": annotations}


def test_a_batch_is_the_same_as_one_write_per_instance():
    start = by_hand(apply(apply(EMPTY, A, ["alice", "bob"]), B, ["bob"]), "dave")
    changes = {A: None, B: ["bob", "carol", "dave"], C: ["erin", "bob"]}
    one_by_one = start
    for instance in sorted(changes, key=members_annotation):
        one_by_one = apply(one_by_one, instance, changes[instance])
    assert apply_batch(start, changes) == one_by_one
    assert one_by_one["users"] == ["bob", "carol", "dave", "erin"]
    # dave was there by hand: neither B nor C records him.
    assert json.loads(one_by_one["annotations"][members_annotation(B)]) == ["bob", "carol"]
    assert json.loads(one_by_one["annotations"][members_annotation(C)]) == ["bob", "erin"]


def test_instances_created_together_share_members_they_both_list():
    group = apply_batch(EMPTY, {A: ["alice", "shared"], B: ["bob", "shared"]})
    assert group["users"] == ["alice", "bob", "shared"]
    # Both recorded "shared": either may go without taking it from the other.
    assert apply_batch(group, {A: None})["users"] == ["bob", "shared"]
    assert apply_batch(group, {B: None})["users"] == ["alice", "shared"]
    assert apply_batch(group, {A: None, B: None})["users"] == []


def test_a_batch_tells_which_instances_changed_the_group():
    group = apply_batch(EMPTY, {A: ["alice"]})
    keys = {i: members_annotation(i) for i in (A, B, C)}
    users, annotations, changed = merge_changes(
        group["users"],
        group["annotations"],
        {keys[A]: ["alice"], keys[B]: ["bob"], keys[C]: None},
    )
    assert changed == {keys[B]}  # A re-applied the same, C had recorded nothing
    assert users == ["alice", "bob"]
    assert set(annotations) == {keys[A], keys[B]}


def test_withdrawing_an_instance_that_recorded_nothing_touches_no_member():
    # A member another instance records was removed by hand: a withdrawal must not bring it
    # back (only that instance's next write does).
    group = {**apply_batch(EMPTY, {B: ["bob"]}), "users": []}
    users, annotations, changed = merge_changes(
        group["users"], group["annotations"], {members_annotation(A): None}
    )
    assert (users, annotations, changed) == ([], group["annotations"], set())


def test_an_empty_batch_changes_nothing():
    group = by_hand(apply_batch(EMPTY, {A: ["alice"]}), "dave")
    users, annotations, changed = merge_changes(group["users"], group["annotations"], {})
    assert (users, annotations, changed) == (group["users"], group["annotations"], set())
