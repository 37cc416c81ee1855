"""The watch-fed stores: what they answer, what they refuse to, and versions only moving forward."""

from __future__ import annotations

from typing import Any

from litemaas_operator.controller.cache import UNKNOWN, Caches, Store

MANAGED = {"app.kubernetes.io/managed-by": "litemaas-operator"}


def obj(name: str, rv: int, ns: str = "ns", instance: str = "a", **data: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": str(rv),
            "labels": {**MANAGED, "app.kubernetes.io/instance": instance},
            "managedFields": [{"manager": "litemaas-operator"}],
        },
        "data": dict(data),
    }


def children() -> Store:
    return Store("ConfigMap", "v1", dict(MANAGED))


def test_nothing_is_answered_before_the_first_list_of_a_scope() -> None:
    store = children()
    assert store.get("ns", "x") is UNKNOWN
    assert store.select("ns", "app.kubernetes.io/instance=a") is UNKNOWN
    store.listed(("ns", None), [obj("x", 5)], 5)
    assert store.get("ns", "x")["data"] == {}  # type: ignore[index]
    assert store.get("other", "x") is UNKNOWN  # another namespace was never listed


def test_a_store_with_a_selector_cannot_prove_absence_one_without_can() -> None:
    labelled = children()
    labelled.listed(("ns", None), [], 1)
    assert labelled.get("ns", "unlabelled-maybe") is UNKNOWN
    everything = Store("Secret", "v1")
    everything.listed(("ns", None), [], 1)
    assert everything.get("ns", "missing") is None


def test_versions_only_move_forward_and_an_echo_is_no_change() -> None:
    store = children()
    store.listed(("ns", None), [obj("x", 5, v="listed")], 5)
    assert store.put(obj("x", 7, v="written"))  # our write's answer
    assert not store.put(obj("x", 6, v="stale event"))  # an event from before the write
    assert not store.put(obj("x", 7, v="written"))  # the write's own event: nothing new
    assert store.get("ns", "x")["data"] == {"v": "written"}  # type: ignore[index]


def test_a_deletion_is_not_undone_by_an_older_answer_but_is_by_a_newer_object() -> None:
    store = children()
    store.listed(("ns", None), [obj("x", 5)], 5)
    assert store.delete(("ns", "x"), 8)
    assert not store.put(obj("x", 7))  # a write's answer that arrived after the DELETED event
    assert store.get("ns", "x") is UNKNOWN  # (selector store: absent reads as "ask")
    assert store.put(obj("x", 9))  # re-created
    assert store.get("ns", "x") is not UNKNOWN


def test_a_relist_drops_what_vanished_keeps_what_is_newer_and_is_counted() -> None:
    store = children()
    store.listed(("ns", None), [obj("gone", 3), obj("kept", 4)], 4)
    store.put(obj("written-during-list", 12))
    changed = store.listed(("ns", None), [obj("kept", 4)], 10)
    assert ("ns", "gone") in changed and ("ns", "kept") not in changed
    assert ("ns", "gone") not in store.items
    assert ("ns", "written-during-list") in store.items  # newer than the list
    assert store.relists == 1


def test_select_by_instance_returns_independent_copies_without_managed_fields() -> None:
    store = children()
    store.listed(("ns", None), [obj("a1", 1), obj("b1", 2, instance="b"), obj("a2", 3)], 3)
    got = store.select(
        "ns", "app.kubernetes.io/instance=a,app.kubernetes.io/managed-by=litemaas-operator"
    )
    assert isinstance(got, list)
    assert sorted(o["metadata"]["name"] for o in got) == ["a1", "a2"]
    assert all("managedFields" not in o["metadata"] and o["kind"] == "ConfigMap" for o in got)
    got[0]["data"]["mutated"] = "yes"
    assert store.get("ns", "a1")["data"] == {}  # type: ignore[index]
    # A query wider than the watch's selector could match objects it never sent.
    assert store.select("ns", "app.kubernetes.io/instance=a") is UNKNOWN


def test_leaving_the_selector_removes_and_moving_instance_reindexes() -> None:
    store = children()
    store.listed(("ns", None), [obj("x", 1)], 1)
    moved = obj("x", 2, instance="b")
    assert store.put(moved)
    assert (
        store.select(
            "ns", "app.kubernetes.io/managed-by=litemaas-operator,app.kubernetes.io/instance=a"
        )
        == []
    )
    unlabelled = obj("x", 3)
    unlabelled["metadata"]["labels"] = {}
    assert store.put(unlabelled) is True
    assert ("ns", "x") not in store.items


def test_only_wanted_contents_are_kept_others_are_read_once_from_the_api() -> None:
    caches = Caches()
    store = caches.store("Secret", "v1", wanted=set())
    store.listed(("ns", None), [obj("read", 1, v="1"), obj("not-read", 2, v="2")], 2)
    assert store.items[("ns", "not-read")].data is None
    assert caches.get("Secret", "not-read", "ns") is UNKNOWN  # exists; contents: ask
    caches.fetched({**obj("not-read", 2, v="2"), "kind": "Secret"})  # the API's answer
    assert caches.get("Secret", "not-read", "ns")["data"] == {"v": "2"}  # type: ignore[index]
    assert store.put(obj("not-read", 3, v="3"))  # and its changes are kept from now on
    assert caches.get("Secret", "not-read", "ns")["data"] == {"v": "3"}  # type: ignore[index]


def test_writes_reach_only_synced_scopes_and_a_forgotten_scope_stops_answering() -> None:
    caches = Caches()
    store = caches.store("ConfigMap", "v1", dict(MANAGED))
    store.listed(("ns", None), [], 1)
    caches.written({**obj("new", 4), "kind": "ConfigMap"})
    caches.written({**obj("elsewhere", 4, ns="unwatched"), "kind": "ConfigMap"})
    assert ("ns", "new") in store.items and ("unwatched", "elsewhere") not in store.items
    caches.deleted("ConfigMap", "new", "ns")
    assert not store.put(obj("new", 4))  # its late event does not bring it back
    store.forget(("ns", None))
    assert caches.get("ConfigMap", "new", "ns") is UNKNOWN and not store.items


def test_a_deletion_that_finalizers_hold_keeps_the_terminating_object_in_the_store() -> None:
    # The watch's event (terminating, version 9) can beat the DELETE's reply: the reply must
    # not drop the object, as no later event would bring it back while its finalizer holds it.
    caches = Caches()
    store = caches.store("ConfigMap", "v1", dict(MANAGED))
    store.listed(("ns", None), [obj("held", 5)], 5)
    terminating = obj("held", 9)
    terminating["metadata"] |= {"deletionTimestamp": "2026-11-28T09:00:00Z", "finalizers": ["f"]}
    assert store.put(terminating)
    caches.deleted("ConfigMap", "held", "ns", {**terminating, "kind": "ConfigMap"})
    held = caches.get("ConfigMap", "held", "ns")
    assert isinstance(held, dict) and held["metadata"]["deletionTimestamp"]
    # Once really gone (a reply without finalizers, or a Status), it is gone, late events too.
    gone = obj("held", 10)
    gone["metadata"] |= {"deletionTimestamp": "2026-11-28T09:00:00Z", "finalizers": []}
    caches.deleted("ConfigMap", "held", "ns", {**gone, "kind": "ConfigMap"})
    assert ("ns", "held") not in store.items
    assert not store.put(terminating) and not store.put(gone)
    store.listed(("ns", None), [obj("other", 11)], 11)
    caches.deleted("ConfigMap", "other", "ns", {"kind": "Status", "status": "Success"})
    assert ("ns", "other") not in store.items


def test_cluster_objects_watched_by_name() -> None:
    groups = Store("Group", "user.openshift.io/v1")
    groups.listed((None, "litemaas-admins"), [], 1)
    assert groups.get("", "litemaas-admins") is None  # certainly absent
    assert groups.get("", "litemaas-users") is UNKNOWN  # not watched
    assert groups.select("", None) is UNKNOWN  # no list of all Groups was made


def test_an_event_that_races_ahead_of_our_write_is_held_and_dropped_as_its_echo() -> None:
    caches = Caches()
    told: list[str] = []
    key = ("ns", "x")
    caches.writing("ConfigMap", key)
    caches.notify("ConfigMap", key, 7, lambda: told.append("echo of our write"))
    caches.notify("ConfigMap", key, 8, lambda: told.append("someone else's change"))
    assert told == []  # held while the write is in flight
    caches.wrote("ConfigMap", key, obj("x", 7))
    assert told == ["someone else's change"]
    caches.notify("ConfigMap", key, 9, lambda: told.append("later"))  # nothing in flight
    assert told[-1] == "later"


def test_a_failed_write_releases_what_was_held() -> None:
    caches = Caches()
    told: list[int] = []
    caches.writing("Secret", ("ns", "x"))
    caches.notify("Secret", ("ns", "x"), 3, lambda: told.append(3))
    caches.wrote("Secret", ("ns", "x"), None)
    assert told == [3]


def test_only_changes_a_reconcile_reads_change_the_fingerprint() -> None:
    from litemaas_operator.controller.relevance import fingerprint

    deployment = {
        "metadata": {"name": "d", "generation": 1, "resourceVersion": "5"},
        "spec": {"replicas": 1},
        "status": {"readyReplicas": 0, "conditions": [{"type": "Available", "reason": "A"}]},
    }
    base = fingerprint("Deployment", deployment)
    timestamps = {**deployment, "metadata": {**deployment["metadata"], "resourceVersion": "6"}}
    timestamps["status"] = {**deployment["status"], "conditions": [{"type": "Available"}]}
    assert fingerprint("Deployment", timestamps) == base
    ready = {**deployment, "status": {**deployment["status"], "readyReplicas": 1}}
    assert fingerprint("Deployment", ready) != base
    stuck = {
        **deployment,
        "status": {"conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]},
    }
    assert fingerprint("Deployment", stuck) != fingerprint(
        "Deployment", {**deployment, "status": {}}
    )
    drifted = {**deployment, "spec": {"replicas": 3}}
    assert fingerprint("Deployment", drifted) != base
    # A rollout's steps before its pods are ready (replicas counted, then updated, the
    # generation observed) leave the verdict "0/1 ready, progressing" as it was: no wake.
    counted = {**deployment, "status": {"observedGeneration": 1, "replicas": 1}}
    updated = {**deployment, "status": {**counted["status"], "updatedReplicas": 1}}
    assert fingerprint("Deployment", counted) == fingerprint("Deployment", updated) == base
    done = {**updated, "status": {**updated["status"], "readyReplicas": 1, "availableReplicas": 1}}
    assert fingerprint("Deployment", done) != base  # ready: the news
    # Scaled to 0 for a restore: each pod that goes is read (backup_state.writers_down).
    stopping = {**deployment, "spec": {"replicas": 0}}
    one_left = {**stopping, "status": {"observedGeneration": 1, "replicas": 1}}
    none_left = {**stopping, "status": {"observedGeneration": 1, "replicas": 0}}
    assert fingerprint("Deployment", one_left) != fingerprint("Deployment", none_left)
    route = {"metadata": {"name": "r"}, "spec": {"host": "h"}}
    routed = {**route, "status": {"ingress": [{"host": "h"}]}}
    assert fingerprint("Route", routed) == fingerprint("Route", route)
    assert fingerprint("Route", {**route, "spec": {"host": "other"}}) != fingerprint("Route", route)


def test_entries_with_the_same_labels_share_one_dict_and_unused_sets_are_dropped() -> None:
    store = children()
    store.listed(("ns", None), [obj(f"x{i}", i) for i in range(1, 4)], 3)
    held = {id(e.labels) for e in store.items.values()}
    assert len(held) == 1, "one label set, one dict"
    assert store.get("ns", "x1")["metadata"]["labels"]["app.kubernetes.io/instance"] == "a"
    # Instances come and go: the sets of those gone do not pile up.
    for i in range(200):
        store.put(obj("churn", 10 + i, instance=f"gone-{i}"))
    assert len(store.label_sets) <= 2 * len(store.items) + 65


def test_stored_objects_are_compressed_and_read_back_whole() -> None:
    store = children()
    store.listed(("ns", None), [obj("big", 1, value="v" * 4000)], 1)
    assert len(store.items[("ns", "big")].data or b"") < 1000
    assert store.get("ns", "big")["data"] == {"value": "v" * 4000}
    assert "managedFields" not in store.get("ns", "big")["metadata"]


def test_a_sibling_instances_object_compresses_against_the_first_of_its_component() -> None:
    import json
    import random
    import zlib

    rng = random.Random(7)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3000))

    def backend(ns: str, rv: int) -> dict[str, Any]:
        o = obj("lm-backend", rv, ns=ns, config=text, ns_name=ns)
        o["metadata"]["labels"]["app.kubernetes.io/component"] = "backend"
        return o

    store = children()
    store.listed((None, None), [backend("first", 1)], 1)
    store.put(backend("second", 2))
    alone = len(zlib.compress(json.dumps(backend("second", 2)).encode(), 1))
    assert alone > 1500  # 3000 random letters do not compress much by themselves
    assert len(store.items[("second", "lm-backend")].data or b"") < alone / 5
    assert store.get("second", "lm-backend")["data"]["ns_name"] == "second"
    assert store.get("second", "lm-backend")["data"]["config"] == text


def test_secrets_are_compressed_alone_so_no_secret_value_outlives_its_object() -> None:
    secrets = Store("Secret", "v1", dict(MANAGED))
    secrets.listed(("ns", None), [obj("creds", 1, password="value-one")], 1)
    secrets.delete(("ns", "creds"), 2)
    assert secrets.zdicts == {}
    secrets.put(obj("other", 3, password="value-two"))
    assert secrets.get("ns", "other")["data"] == {"password": "value-two"}
    assert not any(b"value-one" in d for d in secrets.zdicts.values())
