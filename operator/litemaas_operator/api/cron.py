"""Cron schedules (the five fields of crontab(5), as a Kubernetes CronJob reads them), in UTC.

``spec.backup.schedule`` is validated here and the reconciler computes due times here, so what
the API server admits and what the operator runs agree. No dependency: a few dozen lines cover
the grammar (numbers, ``*``, ranges, steps, lists, month and weekday names, ``@daily``-style
macros), and a third-party parser would have to be pinned in the image's hash-locked set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# What the CRD's pattern admits: five fields of the characters below, or a macro. The full
# grammar (ranges within bounds, step > 0) is checked by ``parse``, which the model runs.
PATTERN = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
    r"[0-9A-Za-z*/,-]+( +[0-9A-Za-z*/,-]+){4})$"
)
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, lowest, highest, names for lowest..): minute, hour, day of month, month, day of week.
FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),  # 7 is Sunday too, as in crontab(5)
)
# Far enough to find the next 29 February of a leap-day schedule; further means never.
HORIZON = timedelta(days=366 * 8)


class CronError(ValueError):
    """An expression that is not a valid five-field schedule."""


@dataclass(frozen=True)
class Schedule:
    """The minutes, hours, days, months and weekdays a schedule fires on."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    # crontab(5): when both day fields are restricted, a day matches if EITHER matches.
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, when: datetime) -> bool:
        """Whether the schedule fires on ``when``'s date (month and day rules)."""
        if when.month not in self.months:
            return False
        by_day = when.day in self.days
        by_weekday = (when.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday

    def next_after(self, when: datetime) -> datetime:
        """The first firing time strictly after ``when`` (UTC, whole minutes)."""
        start = when.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        limit = start + HORIZON
        while day < limit:
            if self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        raise CronError("the schedule never fires (e.g. 30 February)")


def _value(token: str, low: int, names: list[str] | None, what: str) -> int:
    if names and token.lower() in names:
        return names.index(token.lower()) + low
    if not token.isdigit():
        raise CronError(f"{what}: {token!r} is not a number" + (" or a name" if names else ""))
    return int(token)


def _field(text: str, what: str, low: int, high: int, names: list[str] | None) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{what}: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{what}: step {step_text!r} must be a positive number")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _value(a, low, names, what), _value(b, low, names, what)
        else:
            first = _value(base, low, names, what)
            last = high if step_text else first
        for bound in (first, last):
            if not low <= bound <= high:
                raise CronError(f"{what}: {bound} is outside {low}-{high}")
        if first > last:
            raise CronError(f"{what}: range {base!r} runs backwards")
        values.update(range(first, last + 1, step))
    return values


def parse(expression: str) -> Schedule:
    """Parse a five-field cron expression or macro; raises CronError saying what is wrong."""
    text = MACROS.get(expression.strip().lower(), expression.strip())
    parts = re.split(r"\s+", text)
    if len(parts) != 5:
        raise CronError(
            f"expected five fields (minute hour day-of-month month day-of-week) or a macro "
            f"such as @daily, got {len(parts)} field(s)"
        )
    sets = [
        _field(part, what, low, high, names)
        for part, (what, low, high, names) in zip(parts, FIELDS, strict=True)
    ]
    weekdays = {d % 7 for d in sets[4]}
    schedule = Schedule(
        frozenset(sets[0]),
        frozenset(sets[1]),
        frozenset(sets[2]),
        frozenset(sets[3]),
        frozenset(weekdays),
        days_restricted=not parts[2].startswith("*"),
        weekdays_restricted=not parts[4].startswith("*"),
    )
    schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # refuses one that never fires
    return schedule


def next_after(expression: str, when: datetime) -> datetime:
    """The first time ``expression`` fires strictly after ``when``."""
    return parse(expression).next_after(when)
