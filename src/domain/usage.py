"""What a key's ledger adds up to: totals and day buckets (`GET /v1/me/usage`, DESIGN "Ledger").

Charged and refunded are positive sums; net = charged - refunded. Days are UTC dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from domain.operators import LedgerEntry, LedgerKind

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class UsageTotals:
    charged: int
    refunded: int

    @property
    def net(self) -> int:
        return self.charged - self.refunded


@dataclass(frozen=True, slots=True)
class DayUsage:
    date: date
    charged: int
    refunded: int


def usage_totals(entries: Iterable[LedgerEntry]) -> UsageTotals:
    charged = refunded = 0
    for entry in entries:
        if entry.kind is LedgerKind.CHARGE:
            charged -= entry.credits
        elif entry.kind is LedgerKind.REFUND:
            refunded += entry.credits
    return UsageTotals(charged, refunded)


def day_range(first: date | None, last: date | None, *, today: date) -> tuple[date, date]:
    """The days a bucket query covers, both ends included: by default the last 30 days. A
    longer range than MAX_DAYS gives its last MAX_DAYS days (the ledger keeps no more than
    LEDGER_TTL_DAYS anyway); `from` after `to` is an empty range (first > last: no bucket)."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first <= last and (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return first, last


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the days from `first` to `last`."""
    start = datetime.combine(first, time(), UTC)
    return start, datetime.combine(last + timedelta(days=1), time(), UTC)


def day_buckets(entries: Iterable[LedgerEntry], first: date, last: date) -> list[DayUsage]:
    """One bucket per day from `first` to `last`, days without entries included."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    by_day = {day: [0, 0] for day in days}
    for entry in entries:
        sums = by_day.get(entry.at.astimezone(UTC).date())
        if sums is None:
            continue
        totals = usage_totals([entry])
        sums[0] += totals.charged
        sums[1] += totals.refunded
    return [DayUsage(day, *by_day[day]) for day in days]
