"""Operator alerts: `key.credits_low` and `key.credits_exhausted`.

A plan's `alerts` (e.g. `[0.8, 1.0]`) are shares of the period's credits — the refill amount, or
the starting balance for a plan that never refills. A charge that moves the spent share from below
a threshold to at or above it crosses that threshold: below 1.0 that is `key.credits_low {key_id,
plan, remaining, threshold}`, at 1.0 `key.credits_exhausted {key_id, plan, remaining}`.

Each fires once per threshold per refill period: `alert_dedupe_key` names the (key, threshold,
period) slot and `alert_dedupe_expiry` when that slot may be forgotten; an adapter claims the slot
with SET NX before sending. The period is the refill calendar's (`domain.credits`): a new refill
boundary is a new slot, so the alert can fire again once the balance has been reset.

Thresholds are compared as exact fractions (0.7 * 10 is 7.000000000000001 in floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from domain.credits import last_refill_at, next_refill_at
from domain.models import Refill
from domain.webhooks import EventType

# A plan that never refills has one period forever; its slots outlive any key worth alerting on.
NEVER_REFILLS_SLOT_TTL = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class OperatorEvent:
    type: EventType
    threshold: float
    data: dict[str, Any]


def crossed_thresholds(
    alerts: Sequence[float], period_credits: int, before: int, after: int
) -> list[float]:
    """The thresholds a balance change from `before` to `after` crossed, ascending."""
    if period_credits <= 0 or after >= before:
        return []
    spent_before = period_credits - before
    spent_after = period_credits - after
    crossed = []
    for threshold in sorted(set(alerts)):
        line = Fraction(str(threshold)) * period_credits
        if spent_before < line <= spent_after:
            crossed.append(threshold)
    return crossed


def alert_events(
    *,
    key_id: str,
    plan: str,
    alerts: Sequence[float],
    period_credits: int,
    before: int,
    after: int,
) -> list[OperatorEvent]:
    """The operator events one charge causes (before dedupe)."""
    events = []
    for threshold in crossed_thresholds(alerts, period_credits, before, after):
        data: dict[str, Any] = {"key_id": key_id, "plan": plan, "remaining": after}
        if threshold >= 1.0:
            events.append(OperatorEvent(EventType.KEY_CREDITS_EXHAUSTED, threshold, data))
        else:
            data["threshold"] = threshold
            events.append(OperatorEvent(EventType.KEY_CREDITS_LOW, threshold, data))
    return events


def period_credits(starting_credits: int, refill: Refill | None) -> int:
    """What 100 % of a period is: the refill amount, else the starting balance."""
    return refill.amount if refill is not None else starting_credits


def alert_dedupe_key(key_id: str, threshold: float, refill: Refill | None, now: datetime) -> str:
    """The slot that lets `threshold` fire once for `key_id` in the period containing `now`."""
    start = last_refill_at(refill, now)
    period = "once" if start is None else start.strftime("%Y%m%d")
    return f"alert:{key_id}:{threshold:g}:{period}"


def alert_dedupe_expiry(refill: Refill | None, now: datetime) -> timedelta:
    """How long the slot must be remembered: to the end of its period (plus a day of slack for
    clocks that disagree a little)."""
    end = next_refill_at(refill, now)
    if end is None:
        return NEVER_REFILLS_SLOT_TTL
    return end - now + timedelta(days=1)
