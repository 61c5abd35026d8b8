"""In-memory fakes of the webhook ports the API side uses: the alert dedupe, the async delivery
log and the kick (for use-case and contract tests; no mocks of our code)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.credit_alerts import OperatorEvent, alert_dedupe_key
from domain.models import Refill
from domain.webhook_log import Delivery


@dataclass
class MemoryAlertDedupe:
    """Once per (key, threshold, period) slot, as RedisAlertDedupe (without expiry)."""

    slots: set[str] = field(default_factory=set)

    async def fresh(
        self, events: list[OperatorEvent], key_id: str, refill: Refill | None, now: datetime
    ) -> list[OperatorEvent]:
        fresh = []
        for event in events:
            slot = alert_dedupe_key(key_id, event.threshold, refill, now)
            if slot not in self.slots:
                self.slots.add(slot)
                fresh.append(event)
        return fresh


@dataclass
class MemoryWebhookLog:
    added: list[Delivery] = field(default_factory=list)
    redelivered: list[tuple[str, str]] = field(default_factory=list)

    async def add(self, delivery: Delivery) -> None:
        self.added.append(delivery)

    async def deliveries(self, subject_id: str) -> Sequence[Delivery]:
        return [d for d in self.added if d.subject_id == subject_id]

    async def redeliver(self, subject_id: str, delivery_id: str, now: datetime) -> bool:
        found = any(d.id == delivery_id for d in await self.deliveries(subject_id))
        if found:
            self.redelivered.append((subject_id, delivery_id))
        return found


@dataclass
class CountingKick:
    """Counts the passes asked of the webhook consumer."""

    kicks: int = 0

    async def kick(self) -> None:
        self.kicks += 1
