"""The registry tells the watches where Secrets are read, and wakes the CRs that read them."""

from __future__ import annotations

from litemaas_operator.controller.registry import Registry
from litemaas_operator.controller.watches import MAX_BACKOFF_SECONDS, Backoff


def test_the_namespaces_where_secrets_are_read_follow_the_readers() -> None:
    registry = Registry()
    told: list[set[str]] = []
    registry.on_reader_namespaces = told.append

    registry.reads(("team-a", "one"), {("team-a", "jwt")})
    registry.reads(("team-a", "two"), {("team-a", "jwt"), ("team-a", "db")})
    registry.reads(("team-b", "three"), {("team-b", "db")})
    assert told == [{"team-a"}, {"team-a", "team-b"}]  # told only when the set changes

    registry.reads(("team-a", "one"), set())  # "two" still reads Secrets in team-a
    registry.forget(("team-b", "three"))
    assert told[-1] == {"team-a"}
    registry.forget(("team-a", "two"))
    assert told[-1] == set()
    assert registry.readers == {}  # nothing kept for Secrets nobody reads


def test_a_changed_secret_wakes_exactly_its_readers() -> None:
    registry = Registry()
    one, two = registry.trigger(("ns", "one")), registry.trigger(("ns", "two"))
    registry.reads(("ns", "one"), {("ns", "jwt")})
    registry.reads(("ns", "two"), {("ns", "db")})

    assert registry.secret_changed(("ns", "jwt"))
    assert one.is_set() and not two.is_set()
    assert not registry.secret_changed(("ns", "unread"))
    assert not registry.secret_changed(("other", "jwt"))  # same name, another namespace


def test_watch_retries_back_off_to_a_bound_and_start_over_after_a_success() -> None:
    backoff = Backoff()
    delays = [backoff.next() for _ in range(12)]
    assert delays[0] < 1 < delays[3]
    assert max(delays) <= MAX_BACKOFF_SECONDS * 1.2
    backoff.reset()
    assert backoff.next() < 1


def test_a_cr_event_wakes_its_loop_unless_only_status_or_kopfs_annotations_changed() -> None:
    registry = Registry()
    key = ("ns", "litemaas")
    meta = {"uid": "u1", "generation": 1, "annotations": {"litemaas.io/reconcile_loop": "{}"}}
    assert registry.cr_changed(key, meta)  # first sight
    # Our status write (and Kopf's bookkeeping) leave generation and user metadata alone.
    echo = {**meta, "resourceVersion": "9", "annotations": {"litemaas.io/reconcile_loop": "x"}}
    assert not registry.cr_changed(key, echo)
    assert registry.cr_changed(key, {**echo, "generation": 2})  # the spec changed
    assert registry.cr_changed(key, {**echo, "generation": 2, "labels": {"team": "a"}})
    deleting = {**echo, "generation": 2, "labels": {"team": "a"}, "deletionTimestamp": "now"}
    assert registry.cr_changed(key, deleting)
    registry.forget(key)
    assert registry.cr_changed(key, deleting)  # a namesake starts afresh
