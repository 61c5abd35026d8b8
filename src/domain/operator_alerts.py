"""After a charge: the operator's `key.credits_low` / `key.credits_exhausted` events
(domain.credit_alerts), once per threshold per refill period, into the same delivery log as job
events — signed with OPERATOR_WEBHOOK_SECRET and sent by the same webhook consumer.

Which alerts apply is the key's plan's (`alerts` in the plans file): the charge names the plan
(the local store's record, Unkey's `meta.plan`). A plan without alerts fires none; a plan name
the catalog does not know (removed from the plans file since the key was issued) fires none and
is logged once. Without an operator URL the events are only counted. New deliveries are handed
to the webhook consumer at once (`kick`); if that fails the sweeper's next tick sends them. An
alert must never cost the caller a submit: any failure here is logged and swallowed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.credit_alerts import OperatorEvent, alert_events, period_credits
from domain.models import Charge, Refill
from domain.plans import CatalogPlan, PlanCatalog
from domain.ports import Clock
from domain.webhook_api import AsyncWebhookLog, NoWebhookKick, WebhookKick
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
    catalog: PlanCatalog
    dedupe: AlertDedupe
    log: AsyncWebhookLog
    operator_url: str | None
    clock: Clock
    kick: WebhookKick = field(default_factory=NoWebhookKick)
    _unknown_plans: set[str] = field(default_factory=set, compare=False, repr=False)

    async def after_charge(self, charge: Charge, cost: int) -> int:
        """Record the events this charge crossed into; how many were new this period."""
        if charge.key_id is None or charge.remaining is None or cost <= 0:
            return 0
        entry = self._plan_of(charge)
        if entry is None or not entry.alerts:
            return 0
        try:
            return await self._record(entry, charge.key_id, charge.remaining, cost, charge.refill)
        except Exception as exc:
            log.warning("credit alerts for %s failed: %r", charge.key_id, exc)
            return 0

    def _plan_of(self, charge: Charge) -> CatalogPlan | None:
        if charge.plan is None:  # the provider did not say: no plan's thresholds can apply
            return None
        entry = self.catalog.plans.get(charge.plan)
        if entry is None and charge.plan not in self._unknown_plans:
            self._unknown_plans.add(charge.plan)
            log.warning(
                "key %s is on plan %r, which the plans file does not have: no credit alerts",
                charge.key_id,
                charge.plan,
            )
        return entry

    async def _record(
        self, entry: CatalogPlan, key_id: str, after: int, cost: int, refill: Refill | None
    ) -> int:
        plan = entry.plan
        refill = refill or plan.refill
        events = alert_events(
            key_id=key_id,
            plan=plan.name,
            alerts=[float(a) for a in entry.alerts],
            period_credits=period_credits(plan.credits, refill),
            before=after + cost,
            after=after,
        )
        if not events:
            return 0
        now = self.clock.now()
        fresh = await self.dedupe.fresh(events, key_id, refill, now)
        deliveries = operator_deliveries(fresh, operator_url=self.operator_url, now=now)
        for delivery in deliveries:
            await self.log.add(delivery)
        if deliveries:
            await self.kick.kick()
        return len(fresh)
