"""The refill calendar (domain.credits): 00:00 UTC boundaries, monthly clamping, no refill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.credits import last_refill_at, next_refill_at, refill_period_seconds, seconds_until
from domain.models import Refill, RefillInterval


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


DAILY = Refill(RefillInterval.DAILY, 10)


def monthly(day: int) -> Refill:
    return Refill(RefillInterval.MONTHLY, 10, day)


@pytest.mark.parametrize(
    ("now", "last", "following"),
    [
        (at(2026, 1, 15, 12), at(2026, 1, 15), at(2026, 1, 16)),
        (at(2026, 1, 15), at(2026, 1, 15), at(2026, 1, 16)),  # a boundary is its own last
        (at(2026, 1, 15, 23, 59, 59), at(2026, 1, 15), at(2026, 1, 16)),
        (at(2026, 12, 31, 18), at(2026, 12, 31), at(2027, 1, 1)),
    ],
)
def test_daily_boundaries_are_utc_midnights(now: datetime, last: datetime, following: datetime):
    assert last_refill_at(DAILY, now) == last
    assert next_refill_at(DAILY, now) == following


def test_daily_boundaries_are_utc_whatever_the_callers_zone():
    tokyo = timezone(timedelta(hours=9))
    now = datetime(2026, 1, 16, 8, tzinfo=tokyo)  # 2026-01-15 23:00 UTC

    assert last_refill_at(DAILY, now) == at(2026, 1, 15)
    assert next_refill_at(DAILY, now) == at(2026, 1, 16)


@pytest.mark.parametrize(
    ("day", "now", "last", "following"),
    [
        (15, at(2026, 1, 20), at(2026, 1, 15), at(2026, 2, 15)),
        (15, at(2026, 1, 10), at(2025, 12, 15), at(2026, 1, 15)),  # across the year
        (15, at(2026, 1, 15), at(2026, 1, 15), at(2026, 2, 15)),
        (31, at(2026, 2, 10), at(2026, 1, 31), at(2026, 2, 28)),
        (31, at(2026, 2, 28, 6), at(2026, 2, 28), at(2026, 3, 31)),
        (31, at(2028, 2, 28, 6), at(2028, 1, 31), at(2028, 2, 29)),  # leap year
        (30, at(2028, 3, 1), at(2028, 2, 29), at(2028, 3, 30)),
        (31, at(2026, 4, 30, 1), at(2026, 4, 30), at(2026, 5, 31)),
        (31, at(2026, 4, 29), at(2026, 3, 31), at(2026, 4, 30)),
        (1, at(2026, 3, 1), at(2026, 3, 1), at(2026, 4, 1)),
    ],
)
def test_monthly_boundaries_clamp_to_the_months_last_day(
    day: int, now: datetime, last: datetime, following: datetime
):
    assert last_refill_at(monthly(day), now) == last
    assert next_refill_at(monthly(day), now) == following


@pytest.mark.parametrize("refill", [None, Refill(RefillInterval.NONE, 0)])
def test_no_refill_has_no_boundaries(refill: Refill | None):
    assert last_refill_at(refill, at(2026, 1, 1)) is None
    assert next_refill_at(refill, at(2026, 1, 1)) is None
    assert refill_period_seconds(refill, at(2026, 1, 1)) is None


DAY = 86_400


@pytest.mark.parametrize(
    ("refill", "now", "period"),
    [
        (DAILY, at(2026, 3, 29, 23), DAY),
        (monthly(1), at(2026, 2, 10), 28 * DAY),  # Feb 1 → Mar 1
        (monthly(1), at(2026, 3, 10), 31 * DAY),  # Mar 1 → Apr 1
        (monthly(1), at(2026, 4, 10), 30 * DAY),  # Apr 1 → May 1
        (monthly(31), at(2026, 2, 10), 28 * DAY),  # Jan 31 → Feb 28
        (monthly(31), at(2026, 3, 1), 31 * DAY),  # Feb 28 → Mar 31
        (monthly(31), at(2024, 2, 10), 29 * DAY),  # Jan 31 → Feb 29 (leap year)
    ],
)
def test_the_ratelimit_policy_window_is_the_real_period_not_a_nominal_month(
    refill: Refill, now: datetime, period: int
):
    assert refill_period_seconds(refill, now) == period


@pytest.mark.parametrize(
    ("moment", "now", "seconds"),
    [
        (at(2026, 1, 16), at(2026, 1, 15, 23, 59, 59), 1),
        (at(2026, 1, 16), at(2026, 1, 15, 12), 43_200),
        (at(2026, 1, 16), at(2026, 1, 15, 23, 59, 59) + timedelta(microseconds=500_000), 1),
        (at(2026, 1, 16), at(2026, 1, 16, 0, 0, 5), 0),  # never negative
        (None, at(2026, 1, 16), None),
    ],
)
def test_seconds_until_rounds_up(moment: datetime | None, now: datetime, seconds: int | None):
    assert seconds_until(moment, now) == seconds
