"""The Lease state machine (controller/leader.py): client-go's leader-election semantics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from litemaas_operator.controller.leader import Elector, Record, Timings, lease_object

WALL = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
T = Timings(lease_duration=15, renew_deadline=10, retry_period=2)


def held_by(holder: str, renew: str = "2026-01-02T03:04:00.000000Z", transitions: int = 3):
    return Record(holder, 15, "2026-01-02T03:00:00.000000Z", renew, transitions)


def test_no_lease_is_created_with_us_as_holder() -> None:
    me = Elector("a", T)
    record = me.desired(WALL, now=100.0)
    assert record == Record("a", 15, "2026-01-02T03:04:05.678901Z", "2026-01-02T03:04:05.678901Z")
    obj = lease_object("leader", "ops", record)
    assert obj["spec"]["holderIdentity"] == "a" and obj["metadata"]["namespace"] == "ops"


def test_a_live_lease_of_another_holder_is_left_alone_until_it_expires_on_our_clock() -> None:
    me = Elector("b", T)
    me.observe(held_by("a"), now=100.0)
    assert me.desired(WALL, now=100.0) is None
    assert me.desired(WALL, now=114.9) is None
    taken = me.desired(WALL, now=115.0)
    assert taken is not None and taken.holder == "b"
    assert taken.transitions == 4  # a change of holder counts
    assert taken.acquire_time == taken.renew_time == "2026-01-02T03:04:05.678901Z"


def test_a_renewal_seen_restarts_the_expiry_clock() -> None:
    me = Elector("b", T)
    me.observe(held_by("a"), now=100.0)
    me.observe(held_by("a", renew="2026-01-02T03:04:02.000000Z"), now=110.0)
    assert me.desired(WALL, now=120.0) is None  # 15 s from 110, not from 100
    assert me.desired(WALL, now=125.0) is not None


def test_the_same_record_read_again_does_not_restart_the_clock() -> None:
    me = Elector("b", T)
    me.observe(held_by("a"), now=100.0)
    me.observe(held_by("a"), now=110.0)
    assert me.desired(WALL, now=115.0) is not None


def test_a_released_lease_is_taken_at_once() -> None:
    me = Elector("b", T)
    me.observe(Record("", 1, None, None, 3), now=100.0)
    record = me.desired(WALL, now=100.0)
    assert record is not None and record.holder == "b" and record.transitions == 4


def test_the_holder_renews_keeping_its_acquire_time_and_transitions() -> None:
    me = Elector("a", T)
    me.observe(held_by("a"), now=100.0)
    record = me.desired(WALL, now=100.5)
    assert record == held_by("a", renew="2026-01-02T03:04:05.678901Z")


def test_leadership_lasts_the_renew_deadline_from_when_the_renewal_was_sent() -> None:
    me = Elector("a", T)
    assert not me.leading(0.0)
    record = me.desired(WALL, now=100.0)
    assert record is not None
    me.succeeded(record, sent_at=100.0, now=100.3)
    assert me.leading(109.99)
    assert not me.leading(110.0)  # the answer came 0.3 s later; the deadline does not move


def test_the_leader_stops_before_any_standby_may_take_over() -> None:
    """The guarantee: the standby's earliest takeover is after the leader's last write."""
    leader, standby = Elector("a", T), Elector("b", T)
    record = leader.desired(WALL, now=100.0)
    assert record is not None
    leader.succeeded(record, sent_at=100.0, now=100.2)
    # The standby cannot see the renewal before it was stored, i.e. before it was sent.
    standby.observe(record, now=100.1)
    takeover = next(t / 10 for t in range(1000, 1300) if standby.desired(WALL, t / 10))
    last_write = max(t / 10 for t in range(1000, 1300) if leader.leading(t / 10))
    assert last_write < takeover
    assert takeover - last_write >= T.lease_duration - T.renew_deadline - 0.2


def test_release_hands_over_with_an_empty_holder_and_ends_leadership() -> None:
    me = Elector("a", T)
    record = me.desired(WALL, now=100.0)
    assert record is not None
    me.succeeded(record, sent_at=100.0, now=100.0)
    released = me.release(WALL)
    assert released is not None
    assert released.holder == "" and released.lease_duration_seconds == 1
    assert released.spec()["holderIdentity"] is None
    me.released()
    assert not me.leading(100.1)


def test_only_the_holder_releases() -> None:
    me = Elector("b", T)
    me.observe(held_by("a"), now=100.0)
    assert me.release(WALL) is None


def test_a_record_reads_back_from_a_lease() -> None:
    record = held_by("a")
    assert Record.from_lease(lease_object("l", "ns", record)) == record
    assert Record.from_lease({"spec": {}}) == Record()


@pytest.mark.parametrize(
    ("timings", "error"),
    [
        (Timings(10, 10, 2), "longer than the renew deadline"),
        (Timings(15, 2, 2), "renew deadline must exceed"),
    ],
)
def test_unsafe_timings_are_refused(timings: Timings, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        timings.check()
    T.check()


def test_retries_are_jittered_so_candidates_do_not_retry_in_lockstep() -> None:
    delays = [T.retry_delay() for _ in range(200)]
    assert all(2.0 <= d <= 3.0 for d in delays)
    assert len(set(delays)) > 1


def test_a_standby_tries_again_the_moment_the_lease_it_waits_for_expires() -> None:
    me = Elector("b", T)
    me.observe(held_by("a"), now=100.0)
    assert 2.0 <= me.next_try(now=101.0) <= 3.0  # far from expiry: the usual retry
    assert me.next_try(now=114.0) == pytest.approx(1.05)
    assert me.desired(WALL, now=114.0 + me.next_try(now=114.0)) is not None


def test_run_refuses_unsafe_timings_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    from litemaas_operator.cli import main

    code = main(["run", "--leader-elect", "--lease-duration-seconds", "10", "--kubeconfig", "-"])
    assert code == 2
    assert "longer than the renew deadline" in capsys.readouterr().err


def test_leader_election_is_off_unless_asked_and_reads_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    from litemaas_operator.controller.options import add_run_arguments, options_from

    def parse(*argv: str) -> Any:
        parser = argparse.ArgumentParser()
        add_run_arguments(parser)
        return options_from(parser.parse_args(list(argv)))

    for var in ("LEADER_ELECT", "LEASE_NAME", "LEASE_NAMESPACE", "POD_NAMESPACE"):
        monkeypatch.delenv(var, raising=False)
    assert parse().election is None
    monkeypatch.setenv("LEADER_ELECT", "true")
    monkeypatch.setenv("POD_NAMESPACE", "ops")
    election = parse().election
    assert election is not None
    assert (election.lease_name, election.lease_namespace) == ("litemaas-operator-leader", "ops")
    assert (election.lease_duration, election.renew_deadline, election.retry_period) == (15, 10, 2)
    assert parse("--no-leader-elect").election is None
    assert parse("--lease-namespace", "x").election.lease_namespace == "x"
