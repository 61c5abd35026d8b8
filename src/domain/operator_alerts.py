"""After a charge: the operator's `key.credits_low` / `key.credits_exhausted` events
(domain.credit_alerts), once per threshold per refill period, into the same delivery log as job
events — signed with OPERATOR_WEBHOOK_SECRET and sent by the same webhook consumer.

Which alerts apply is the plan's (`alerts` in the plans file). The charge does not say which plan
a key is on, so the alerts are those of the plan this use case is given (the self-serve plan);
without alerts, or without an operator URL and a log, nothing happens. An alert must never cost
the caller a submit: any failure here is logged and swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.credit_alerts import OperatorEvent, alert_events, period_credits
from domain.models import Charge, Plan, Refill
from domain.ports import Clock
from domain.webhook_api import AsyncWebhookLog
from domain.webhook_service import operator_deliveries

log = logging.getLogger("imagegate.domain")


class AlertDedupe(Protocol):
    async def fresh(
        self, events: list[OperatorEvent], key_id: str, refill: Refill | None, now: datetime
    ) -> list[OperatorEvent]:
        """The events not yet sent this period (and now marked as sent)."""
        ...


@dataclass(frozen=True, slots=True)
class CreditAlerts:
    plan: Plan
    alerts: Sequence[float]
    dedupe: AlertDedupe
    log: AsyncWebhookLog
    operator_url: str | None
    clock: Clock

    async def after_charge(self, charge: Charge, cost: int) -> int:
        """Record the events this charge crossed into; how many were new this period."""
        if not self.alerts or charge.key_id is None or charge.remaining is None or cost <= 0:
            return 0
        try:
            return await self._record(charge.key_id, charge.remaining, cost, charge.refill)
        except Exception as exc:
            log.warning("credit alerts for %s failed: %r", charge.key_id, exc)
            return 0

    async def _record(self, key_id: str, after: int, cost: int, refill: Refill | None) -> int:
        refill = refill or self.plan.refill
        events = alert_events(
            key_id=key_id,
            plan=self.plan.name,
            alerts=self.alerts,
            period_credits=period_credits(self.plan.credits, refill),
            before=after + cost,
            after=after,
        )
        if not events:
            return 0
        now = self.clock.now()
        fresh = await self.dedupe.fresh(events, key_id, refill, now)
        for delivery in operator_deliveries(fresh, operator_url=self.operator_url, now=now):
            await self.log.add(delivery)
        return len(fresh)
