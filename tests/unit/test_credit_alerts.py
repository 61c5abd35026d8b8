"""Which alert thresholds a charge crosses, and the period slot that makes each fire once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.credit_alerts import (
    NEVER_REFILLS_SLOT_TTL,
    alert_dedupe_expiry,
    alert_dedupe_key,
    alert_events,
    crossed_thresholds,
    period_credits,
)
from domain.models import Refill, RefillInterval
from domain.webhooks import EventType

DAILY = Refill(RefillInterval.DAILY, 10)
ALERTS = [0.8, 1.0]


def test_crossing_low_then_exhausted() -> None:
    assert crossed_thresholds(ALERTS, 10, before=3, after=2) == [0.8]  # spent 7 → 8
    assert crossed_thresholds(ALERTS, 10, before=2, after=1) == []  # already past 0.8
    assert crossed_thresholds(ALERTS, 10, before=1, after=0) == [1.0]
    assert crossed_thresholds(ALERTS, 10, before=10, after=0) == [0.8, 1.0]  # one big charge


def test_no_change_or_a_refund_crosses_nothing() -> None:
    assert crossed_thresholds(ALERTS, 10, before=2, after=2) == []
    assert crossed_thresholds(ALERTS, 10, before=1, after=5) == []
    assert crossed_thresholds(ALERTS, 0, before=0, after=-1) == []


def test_thresholds_compare_exactly() -> None:
    # 0.7 * 10 is 7.000000000000001 as a float: spending exactly 7 of 10 must cross 0.7.
    assert crossed_thresholds([0.7], 10, before=4, after=3) == [0.7]


def test_a_balance_above_the_period_credits_counts_from_the_period() -> None:
    # An operator gave 50 on a plan that refills 10: spending down to 2 crosses 0.8 only there.
    assert crossed_thresholds(ALERTS, 10, before=50, after=3) == []
    assert crossed_thresholds(ALERTS, 10, before=3, after=2) == [0.8]


def test_events_carry_the_spec_fields() -> None:
    events = alert_events(
        key_id="key_a", plan="free", alerts=ALERTS, period_credits=10, before=10, after=0
    )
    assert [(e.type, e.data) for e in events] == [
        (
            EventType.KEY_CREDITS_LOW,
            {"key_id": "key_a", "plan": "free", "remaining": 0, "threshold": 0.8},
        ),
        (EventType.KEY_CREDITS_EXHAUSTED, {"key_id": "key_a", "plan": "free", "remaining": 0}),
    ]


def test_period_credits_is_the_refill_amount_else_the_starting_balance() -> None:
    assert period_credits(25, DAILY) == 10
    assert period_credits(25, None) == 25


def test_the_slot_changes_at_the_refill_boundary_and_lasts_its_period() -> None:
    before_midnight = datetime(2026, 1, 15, 23, 59, tzinfo=UTC)
    after_midnight = before_midnight + timedelta(minutes=2)
    assert alert_dedupe_key("key_a", 0.8, DAILY, before_midnight) == alert_dedupe_key(
        "key_a", 0.8, DAILY, before_midnight - timedelta(hours=20)
    )
    assert alert_dedupe_key("key_a", 0.8, DAILY, before_midnight) != alert_dedupe_key(
        "key_a", 0.8, DAILY, after_midnight
    )
    assert alert_dedupe_key("key_a", 0.8, DAILY, after_midnight) != alert_dedupe_key(
        "key_a", 1.0, DAILY, after_midnight
    )
    assert alert_dedupe_expiry(DAILY, before_midnight) == timedelta(days=1, minutes=1)
    assert alert_dedupe_expiry(None, before_midnight) == NEVER_REFILLS_SLOT_TTL
    assert alert_dedupe_key("key_a", 0.8, None, before_midnight).endswith(":once")
