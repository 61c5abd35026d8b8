"""Usage arithmetic: totals are positive sums, day buckets are UTC days with empty days kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from domain.operators import LedgerEntry, LedgerKind
from domain.usage import day_buckets, day_range, usage_totals

AT = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


def test_totals_count_only_charges_and_refunds() -> None:
    entries = [
        LedgerEntry(AT, LedgerKind.MINT, 100),
        LedgerEntry(AT, LedgerKind.CHARGE, -12),
        LedgerEntry(AT, LedgerKind.REFUND, 5),
        LedgerEntry(AT, LedgerKind.SET, -40),
        LedgerEntry(AT, LedgerKind.CHARGE, -3),
    ]
    totals = usage_totals(entries)
    assert (totals.charged, totals.refunded, totals.net) == (15, 5, 10)


def test_buckets_are_utc_days_including_empty_ones() -> None:
    # 00:30 on 2 March in UTC+2 is still 1 March in UTC.
    east = datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    entries = [
        LedgerEntry(AT, LedgerKind.CHARGE, -2),
        LedgerEntry(east, LedgerKind.REFUND, 1),
        LedgerEntry(AT + timedelta(days=2), LedgerKind.CHARGE, -4),
        LedgerEntry(AT + timedelta(days=9), LedgerKind.CHARGE, -50),  # outside
    ]
    buckets = day_buckets(entries, date(2026, 3, 1), date(2026, 3, 4))
    assert [(b.date.day, b.charged, b.refunded) for b in buckets] == [
        (1, 2, 1),
        (2, 0, 0),
        (3, 4, 0),
        (4, 0, 0),
    ]


def test_day_range_defaults_and_bounds() -> None:
    today = date(2026, 3, 31)
    assert day_range(None, None, today=today) == (date(2026, 3, 2), today)
    assert day_range(None, date(2026, 1, 30), today=today) == (date(2026, 1, 1), date(2026, 1, 30))
    # Every well-formed pair of dates is answered: a long range by its last 366 days, a
    # reversed one by no bucket at all (the OpenAPI document cannot state either constraint).
    assert day_range(date(2024, 1, 1), today, today=today) == (date(2025, 3, 31), today)
    first, last = day_range(date(2026, 3, 5), date(2026, 3, 1), today=today)
    assert first > last
    assert day_buckets([], first, last) == []
