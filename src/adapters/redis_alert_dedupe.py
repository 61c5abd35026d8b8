"""Once per threshold per refill period: the operator alerts' dedupe slots in Redis.

`domain.credit_alerts` names the slot (key, threshold, period) and how long it must be kept;
this claims it with `SET NX PX`, so of all the processes that see a threshold crossed in one
period exactly one sends the alert.
"""

from __future__ import annotations

from datetime import datetime

import redis.asyncio as aioredis

from domain.credit_alerts import OperatorEvent, alert_dedupe_expiry, alert_dedupe_key
from domain.models import Refill


class RedisAlertDedupe:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "ig") -> None:
        self._redis = client
        self._prefix = prefix

    async def first_time(
        self, key_id: str, threshold: float, refill: Refill | None, now: datetime
    ) -> bool:
        """True exactly once per (key, threshold, refill period)."""
        slot = f"{self._prefix}:{alert_dedupe_key(key_id, threshold, refill, now)}"
        expiry_ms = max(1, int(alert_dedupe_expiry(refill, now).total_seconds() * 1000))
        return bool(await self._redis.set(slot, "1", nx=True, px=expiry_ms))

    async def fresh(
        self, events: list[OperatorEvent], key_id: str, refill: Refill | None, now: datetime
    ) -> list[OperatorEvent]:
        """The events not yet sent this period (and now marked as sent)."""
        return [e for e in events if await self.first_time(key_id, e.threshold, refill, now)]
