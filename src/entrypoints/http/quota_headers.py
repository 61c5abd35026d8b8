"""IETF RateLimit headers for credits (draft-ietf-httpapi-ratelimit-headers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain import credits
from domain.models import Refill
from domain.ports import Clock


def quota_headers(remaining: int | None, refill: Refill | None, now: datetime) -> dict[str, str]:
    if remaining is None:
        return {}
    headers: dict[str, str] = {}
    period = credits.refill_period_seconds(refill, now)
    if refill is not None and period is not None:
        headers["RateLimit-Policy"] = f'"credits";q={refill.amount};w={period}'
    reset = credits.seconds_until(credits.next_refill_at(refill, now), now)
    value = f'"credits";r={remaining}'
    if reset is not None:
        value += f";t={reset}"
    headers["RateLimit"] = value
    return headers


@dataclass(frozen=True, slots=True)
class QuotaHeaders:
    """The RateLimit headers for a balance, falling back to the plan's refill when the quota
    store did not say (built once, handed to the handlers and the error handler)."""

    default_refill: Refill | None
    clock: Clock

    def __call__(self, remaining: int | None, refill: Refill | None) -> dict[str, str]:
        return quota_headers(remaining, refill or self.default_refill, self.clock.now())
