"""API-side use cases for jobs: submit, read, list, cancel.

Each is bound once in the composition root (entrypoints/bootstrap.py) with the ports it
needs, and called by the HTTP handlers. The worker's use cases live in domain/generation.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from domain.admission import refund_quietly
from domain.admission_doubts import DoubtfulAdmissions
from domain.api_keys import raise_for_refusal
from domain.errors import (
    JobNotCancelable,
    JobNotFound,
    QueueUnavailable,
    QuotaUnavailable,
    StoreUnavailable,
    WebhooksDisabled,
)
from domain.models import Charge, ImageRequest, Job, JobDraft
from domain.operator_alerts import CreditAlerts
from domain.ports import Clock, JobAdmission, JobQueue, JobStore, QuotaProvider
from domain.pricing import FLAT, Pricing
from domain.refunds import refund_job_via_api
from domain.validation import validate_request
from domain.webhook_api import WebhookGate, with_webhook

log = logging.getLogger("imagegate.domain")


@dataclass(frozen=True, slots=True)
class Submitted:
    job: Job
    charge: Charge


@dataclass(frozen=True, slots=True)
class SubmitGeneration:
    """Validate → charge and record `queued` → enqueue. Never leaves a charged job unqueued:
    a recorded job sits in the outbox until the broker has it, and one the queue refuses is
    withdrawn and refunded."""

    admission: JobAdmission
    quota: QuotaProvider
    jobs: JobStore
    queue: JobQueue
    clock: Clock
    job_ttl: timedelta
    default_model: str
    allowed_models: frozenset[str] | None = None
    pricing: Pricing = FLAT  # the plans file's: what the job is charged and refunded
    webhooks: WebhookGate | None = None  # None: no WEBHOOK_SIGNING_KEY
    alerts: CreditAlerts | None = None  # the operator's key.credits_* events
    doubts: DoubtfulAdmissions | None = None  # admissions that failed without a clear answer

    async def __call__(
        self,
        key: str,
        request: ImageRequest,
        *,
        request_id: str | None = None,
        webhook: object | None = None,
        deadline: timedelta | None = None,
    ) -> Submitted:
        validate_request(request, self.allowed_models)
        accepted = None
        if webhook is not None:  # checked before charging: a refused webhook costs nothing
            if self.webhooks is None:
                raise WebhooksDisabled()
            accepted = await self.webhooks.accept(webhook)
        if not self.queue.accepting():
            raise QueueUnavailable()  # known down: charge nothing rather than charge and refund
        now = self.clock.now()
        draft = JobDraft.new(
            request=request,
            now=now,
            ttl=self.job_ttl,
            request_id=request_id,
            charged=self.pricing.job_cost(request),
        )
        draft = with_webhook(draft, accepted)
        if deadline is not None:
            draft = replace(draft, deadline_at=now + deadline)
        try:
            charge, job = await self.admission.admit(key, draft)
        except (QuotaUnavailable, StoreUnavailable):
            if self.doubts is not None:  # its reply may be what was lost: undo it if it ran
                self.doubts.doubt(draft.id)
            raise
        if job is None:
            raise_for_refusal(charge, now)
            raise StoreUnavailable()  # accepted but not recorded: the admission broke its word
        try:
            await self.queue.enqueue(job.id)
        except Exception as exc:
            log.warning("enqueue of %s failed, refunding: %r", job.id, exc)
            await self._withdraw(job)
            raise QueueUnavailable() from None
        if self.alerts is not None:
            await self.alerts.after_charge(charge, job.charged)
        return Submitted(job=job, charge=charge)

    async def _withdraw(self, job: Job) -> None:
        """A job no worker will ever see: refund it once and forget it."""
        try:
            amount = await self.jobs.claim_refund(job.id)
            if amount:
                await self.quota.refund(job.owner, amount, job_id=job.id)
            await self.jobs.remove(job)
        except Exception as exc:  # the store is failing too: refund without bookkeeping
            log.warning("withdrawing %s via the store failed: %r", job.id, exc)
            await refund_quietly(self.quota, job.owner, job.charged)


@dataclass(frozen=True, slots=True)
class GetJob:
    jobs: JobStore

    async def __call__(self, job_id: str, *, owner: str) -> Job:
        job = await self.jobs.get(job_id, owner)
        if job is None:
            raise JobNotFound()
        return job


@dataclass(frozen=True, slots=True)
class ListJobs:
    jobs: JobStore

    async def __call__(
        self, *, owner: str, limit: int, cursor: str | None
    ) -> tuple[Sequence[Job], str | None]:
        """Newest first; raises InvalidCursor for a cursor this store did not hand out."""
        return await self.jobs.list(owner, limit=limit, cursor=cursor)


@dataclass(frozen=True, slots=True)
class CancelJob:
    """queued or running → canceled, and the credits back (a running attempt abandons)."""

    jobs: JobStore
    quota: QuotaProvider
    clock: Clock

    async def __call__(self, job_id: str, *, owner: str) -> Job:
        job, changed = await self.jobs.cancel(job_id, owner, self.clock.now())
        if job is None:
            raise JobNotFound()
        if not changed:
            detail = f"The job is {job.status.value}; only a queued or running job can be canceled."
            raise JobNotCancelable(detail)
        await refund_job_via_api(job, jobs=self.jobs, quota=self.quota)
        return await GetJob(self.jobs)(job_id, owner=owner)
