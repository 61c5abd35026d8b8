"""Refill calendar: when a key's balance is (re)set. Both quota providers share these rules.

Refills happen at 00:00 UTC: daily every day; monthly on the refill day, or on the month's last
day when the month has no such day (31 → Feb 28/29, Apr 30).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from domain.models import Refill, RefillInterval


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _refill_day_in(year: int, month: int, day: int) -> datetime:
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, min(day, last), tzinfo=UTC)


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def last_refill_at(refill: Refill | None, now: datetime) -> datetime | None:
    """The most recent refill boundary at or before `now` (None: the plan never refills)."""
    if refill is None or refill.interval is RefillInterval.NONE:
        return None
    if refill.interval is RefillInterval.DAILY:
        return _midnight(now)
    now = now.astimezone(UTC)
    this_month = _refill_day_in(now.year, now.month, refill.day)
    if now >= this_month:
        return this_month
    year, month = _shift_month(now.year, now.month, -1)
    return _refill_day_in(year, month, refill.day)


def next_refill_at(refill: Refill | None, now: datetime) -> datetime | None:
    """The first refill boundary strictly after `now` (None: the plan never refills)."""
    if refill is None or refill.interval is RefillInterval.NONE:
        return None
    if refill.interval is RefillInterval.DAILY:
        return _midnight(now) + timedelta(days=1)
    now = now.astimezone(UTC)
    this_month = _refill_day_in(now.year, now.month, refill.day)
    if now < this_month:
        return this_month
    year, month = _shift_month(now.year, now.month, 1)
    return _refill_day_in(year, month, refill.day)


def refill_period_seconds(refill: Refill | None, now: datetime) -> int | None:
    """The length of the refill period `now` falls in, for `RateLimit-Policy`'s `w`: a day, or
    the 28 to 31 days between this period's monthly refill and the next."""
    start, end = last_refill_at(refill, now), next_refill_at(refill, now)
    if start is None or end is None:
        return None
    return int((end - start).total_seconds())


def seconds_until(moment: datetime | None, now: datetime) -> int | None:
    if moment is None:
        return None
    return max(0, int((moment - now).total_seconds() + 0.999))
