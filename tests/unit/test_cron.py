"""Cron schedules: the grammar a CronJob accepts, and the next firing time, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.api.cron import CronError, next_after, parse


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("* * * * *", "2026-03-01T10:00:00", "2026-03-01T10:01:00"),
        ("* * * * *", "2026-03-01T10:00:59.9", "2026-03-01T10:01:00"),  # strictly after
        ("0 2 * * *", "2026-03-01T02:00:00", "2026-03-02T02:00:00"),
        ("0 2 * * *", "2026-03-01T01:59:00", "2026-03-01T02:00:00"),
        ("*/15 * * * *", "2026-03-01T10:07:00", "2026-03-01T10:15:00"),
        ("30 23 31 12 *", "2026-06-01T00:00:00", "2026-12-31T23:30:00"),
        ("0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),  # next leap day
        ("0 3 * * sun", "2026-03-02T00:00:00", "2026-03-08T03:00:00"),  # 2026-03-08 is a Sunday
        ("0 3 * * 7", "2026-03-02T00:00:00", "2026-03-08T03:00:00"),  # 7 is Sunday too
        ("0 9 * * mon-fri", "2026-03-06T10:00:00", "2026-03-09T09:00:00"),  # Fri -> Mon
        ("0 0 1 jan,jul *", "2026-02-01T00:00:00", "2026-07-01T00:00:00"),
        ("5,35 1-2 * * *", "2026-03-01T01:35:00", "2026-03-01T02:05:00"),
        ("@daily", "2026-03-01T12:00:00", "2026-03-02T00:00:00"),
        ("@hourly", "2026-03-01T12:00:00", "2026-03-01T13:00:00"),
        ("@weekly", "2026-03-02T00:00:00", "2026-03-08T00:00:00"),
        ("@monthly", "2026-03-15T00:00:00", "2026-04-01T00:00:00"),
        ("@yearly", "2026-03-15T00:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_next_firing_time(expression: str, after: str, expected: str) -> None:
    assert next_after(expression, at(after)) == at(expected)


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # crontab(5) and Kubernetes: the 13th OR any Friday, not only Friday the 13th.
    schedule = parse("0 0 13 * fri")
    fired = []
    when = at("2026-03-01T00:00:00")
    for _ in range(6):
        when = schedule.next_after(when)
        fired.append(when.date().isoformat())
    assert fired == [
        "2026-03-06",  # Friday
        "2026-03-13",  # the 13th, a Friday too
        "2026-03-20",
        "2026-03-27",
        "2026-04-03",
        "2026-04-10",
    ]
    # A starred day field leaves the other alone.
    assert parse("0 0 */2 * fri").next_after(at("2026-03-01T00:00:00")).date().isoformat() == (
        "2026-03-13"  # odd days that are Fridays: 6th is even, 13th odd
    )


def test_a_timezone_aware_time_is_taken_in_utc() -> None:
    paris = datetime(2026, 3, 1, 3, 30, tzinfo=UTC).astimezone(timezone(timedelta(hours=1)))
    assert next_after("0 3 * * *", paris) == at("2026-03-02T03:00:00")


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("* * * *", "five fields"),
        ("* * * * * *", "five fields"),
        ("60 * * * *", "outside 0-59"),
        ("0 24 * * *", "outside 0-23"),
        ("0 0 0 * *", "outside 1-31"),
        ("0 0 * 13 *", "outside 1-12"),
        ("0 0 * * 8", "outside 0-7"),
        ("*/0 * * * *", "step"),
        ("5-1 * * * *", "backwards"),
        ("a * * * *", "not a number"),
        ("1,,2 * * * *", "empty"),
        ("0 0 30 feb *", "never fires"),
        ("@fortnightly", "five fields"),
    ],
)
def test_invalid_schedules_say_what_is_wrong(expression: str, words: str) -> None:
    with pytest.raises(CronError, match=words):
        parse(expression)


def test_the_spec_refuses_an_invalid_schedule_naming_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        LiteMaaSSpec.model_validate({"backup": {"schedule": "0 25 * * *"}})
    assert err.value.errors()[0]["loc"] == ("backup", "schedule")
    assert "outside 0-23" in str(err.value)
    spec = LiteMaaSSpec.model_validate({"backup": {"schedule": "@daily"}})
    assert spec.backup.schedule == "@daily"
    assert LiteMaaSSpec().backup.schedule is None  # off unless asked for
