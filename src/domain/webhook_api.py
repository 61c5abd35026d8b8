"""The API's webhook use cases: the submit-time gate, the caller's secret, a job's delivery log
and redelivery (due at once, and the webhook consumer is kicked to send it). Bound once in the
composition root (entrypoints/bootstrap.py).

The gate runs `accept_webhook` in a thread (it resolves the URL's host) and before any charge,
so a refused webhook costs nothing and opens no connection. What a job keeps of its webhook is
the URL and the subscribed events (never a secret: secrets are derived when signing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from domain.errors import DeliveryNotFound, JobNotFound, WebhooksDisabled
from domain.models import Job, JobDraft
from domain.ports import Clock, JobStore
from domain.webhook_log import Delivery, delivery_json
from domain.webhook_service import WebhookSecrets, accept_webhook
from domain.webhook_urls import HostResolver
from domain.webhooks import Subscription, WebhookRequest


class AsyncWebhookLog(Protocol):
    """The API's view of the delivery log."""

    async def add(self, delivery: Delivery) -> None: ...

    async def deliveries(self, subject_id: str) -> Sequence[Delivery]: ...

    async def redeliver(self, subject_id: str, delivery_id: str, now: datetime) -> bool: ...


class WebhookKick(Protocol):
    """Asks the webhook consumer for a delivery pass now. Best effort: whatever it misses, the
    sweeper's next tick asks for again, so a failure is logged, never raised."""

    async def kick(self) -> None: ...


class NoWebhookKick:
    """No consumer to ask (tests of the HTTP edge): the sweeper's tick is the only pass."""

    async def kick(self) -> None:
        return None


class NoWebhookLog:
    """The log of a server with no place to keep one (tests of the HTTP edge): always empty."""

    async def add(self, delivery: Delivery) -> None:
        raise WebhooksDisabled()

    async def deliveries(self, subject_id: str) -> Sequence[Delivery]:
        return []

    async def redeliver(self, subject_id: str, delivery_id: str, now: datetime) -> bool:
        return False


def with_webhook(draft: JobDraft, webhook: WebhookRequest | None) -> JobDraft:
    if webhook is None:
        return draft
    events = tuple(sorted(e.value for e in webhook.events))
    return replace(draft, webhook_url=webhook.url, webhook_events=events)


def webhook_of(job: Job) -> WebhookRequest | None:
    if not job.webhook_url:
        return None
    return WebhookRequest(job.webhook_url, frozenset(Subscription(e) for e in job.webhook_events))


@dataclass(frozen=True, slots=True)
class WebhookGate:
    """`webhook: {url, events?}` at submit → a checked request, or a 422 naming the field."""

    secrets: WebhookSecrets
    resolver: HostResolver
    allow_private: bool

    async def accept(self, raw: object) -> WebhookRequest:
        return await asyncio.to_thread(
            accept_webhook,
            raw,
            secrets=self.secrets,
            resolver=self.resolver,
            allow_private=self.allow_private,
        )


@dataclass(frozen=True, slots=True)
class GetWebhookSecret:
    secrets: WebhookSecrets

    def __call__(self, key_id: str) -> str:
        if not self.secrets.master_key:
            raise WebhooksDisabled()
        return self.secrets.for_key(key_id)


@dataclass(frozen=True, slots=True)
class JobWebhooks:
    """A job's deliveries (owner-scoped: another key's job is 404) and redelivery."""

    jobs: JobStore
    log: AsyncWebhookLog
    clock: Clock
    kick: WebhookKick = field(default_factory=NoWebhookKick)

    async def _owned(self, job_id: str, owner: str) -> Job:
        job = await self.jobs.get(job_id, owner)
        if job is None:
            raise JobNotFound()
        return job

    async def list(self, job_id: str, *, owner: str) -> list[dict[str, Any]]:
        await self._owned(job_id, owner)
        return [delivery_json(d) for d in await self.log.deliveries(job_id)]

    async def redeliver(self, job_id: str, delivery_id: str, *, owner: str) -> None:
        await self._owned(job_id, owner)
        if not await self.log.redeliver(job_id, delivery_id, self.clock.now()):
            raise DeliveryNotFound()
        await self.kick.kick()  # due now: sent at once, not at the sweeper's next tick
