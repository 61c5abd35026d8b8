"""Use cases. The HTTP handlers and the Celery task are thin callers of these."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import credits
from domain.errors import (
    InvalidKey,
    JobNotCancelable,
    JobNotFound,
    QueueUnavailable,
    QuotaExceeded,
    RateLimited,
    StoreUnavailable,
)
from domain.models import (
    Charge,
    ImageRequest,
    IssuedKey,
    Job,
    KeyInfo,
    KeyStatus,
    Plan,
)
from domain.ports import (
    Clock,
    JobAdmission,
    JobQueue,
    JobRepository,
    QuotaProvider,
)
from domain.validation import validate_request

log = logging.getLogger("imagegate.domain")


# --- keys ---------------------------------------------------------------------------------


async def mint_key(plan: Plan, *, quota: QuotaProvider) -> IssuedKey:
    return await quota.mint(plan)


async def authenticate(key: str, *, quota: QuotaProvider) -> Charge:
    """Resolve a key to its id without spending anything (a charge of cost 0)."""
    charge = await quota.charge(key, 0)
    if not charge.accepted or charge.key_id is None:
        raise InvalidKey()
    return charge


async def describe_key(key: str, *, quota: QuotaProvider) -> KeyInfo:
    info = await quota.describe(key)
    if info is None:
        raise InvalidKey()
    return info


async def revoke_key(key: str, *, quota: QuotaProvider) -> str:
    charge = await authenticate(key, quota=quota)
    assert charge.key_id is not None
    await quota.revoke(charge.key_id)
    return charge.key_id


def raise_for_refusal(charge: Charge, now: datetime) -> None:
    """Turn a refused charge into the domain error the caller should see."""
    if charge.accepted:
        return
    if charge.status is KeyStatus.USAGE_EXCEEDED:
        next_at = credits.next_refill_at(charge.refill, now)
        raise QuotaExceeded(
            remaining=charge.remaining,
            retry_after=credits.seconds_until(next_at, now),
            refill=charge.refill,
        )
    if charge.status is KeyStatus.RATE_LIMITED:
        raise RateLimited()
    raise InvalidKey()


# --- jobs: the API side -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submitted:
    job: Job
    charge: Charge


@dataclass(frozen=True, slots=True)
class ChargeThenRecord:
    """The general JobAdmission, for any quota provider: charge, then record the job. A job
    that cannot be recorded is refunded at once."""

    quota: QuotaProvider
    jobs: JobRepository

    async def admit(self, key: str, draft: Job) -> tuple[Charge, Job | None]:
        charge = await self.quota.charge(key, draft.charged)
        if not charge.accepted or charge.key_id is None:
            return charge, None
        job = draft.evolve(owner=charge.key_id)
        try:
            await self.jobs.add(job)
        except Exception as exc:
            log.warning("recording job failed, refunding %s credits: %r", job.charged, exc)
            await _refund_quietly(self.quota, charge.key_id, job.charged)
            raise StoreUnavailable() from None
        return charge, job


async def submit_generation(
    key: str,
    request: ImageRequest,
    *,
    quota: QuotaProvider,
    jobs: JobRepository,
    queue: JobQueue,
    clock: Clock,
    job_ttl: timedelta,
    allowed_models: frozenset[str] | None = None,
    request_id: str | None = None,
    admission: JobAdmission | None = None,
) -> Submitted:
    """Validate → charge and record `queued` → enqueue. Never leaves a charged job unqueued:
    a recorded job sits in the outbox until the broker has it, and one the queue refuses is
    withdrawn and refunded. `admission` defaults to charging through `quota`, then recording
    through `jobs`; an adapter may do both in one atomic step."""
    validate_request(request, allowed_models)
    if not queue.accepting():
        raise QueueUnavailable()  # known down: charge nothing rather than charge and refund
    now = clock.now()
    draft = Job.queued(owner="", request=request, now=now, ttl=job_ttl, request_id=request_id)
    charge, job = await (admission or ChargeThenRecord(quota, jobs)).admit(key, draft)
    raise_for_refusal(charge, now)
    assert job is not None
    try:
        await queue.enqueue(job.id)
    except Exception as exc:
        log.warning("enqueue of %s failed, refunding: %r", job.id, exc)
        await _withdraw(job, quota=quota, jobs=jobs)
        raise QueueUnavailable() from None
    return Submitted(job=job, charge=charge)


async def _withdraw(job: Job, *, quota: QuotaProvider, jobs: JobRepository) -> None:
    """A job no worker will ever see: refund it once and forget it."""
    try:
        amount = await jobs.claim_refund(job.id)
        if amount:
            await quota.refund(job.owner, amount)
        await jobs.remove(job)
    except Exception as exc:  # the store is failing too: refund without bookkeeping
        log.warning("withdrawing %s via the store failed: %r", job.id, exc)
        await _refund_quietly(quota, job.owner, job.charged)


async def _refund_quietly(quota: QuotaProvider, key_id: str, amount: int) -> None:
    try:
        await quota.refund(key_id, amount)
    except Exception:
        log.exception("refund of %s credits to %s failed", amount, key_id)


async def get_job(job_id: str, *, owner: str, jobs: JobRepository) -> Job:
    job = await jobs.get(job_id, owner)
    if job is None:
        raise JobNotFound()
    return job


async def list_jobs(
    *, owner: str, jobs: JobRepository, limit: int, cursor: str | None
) -> tuple[Sequence[Job], str | None]:
    return await jobs.list(owner, limit=limit, cursor=cursor)


async def cancel_job(
    job_id: str, *, owner: str, jobs: JobRepository, quota: QuotaProvider, clock: Clock
) -> Job:
    job, changed = await jobs.cancel(job_id, owner, clock.now())
    if job is None:
        raise JobNotFound()
    if not changed:
        raise JobNotCancelable(f"The job is {job.status.value}; only a queued job can be canceled.")
    amount = await jobs.claim_refund(job.id)
    if amount:
        try:
            await quota.refund(job.owner, amount)
        except Exception:
            await jobs.release_refund(job.id)
            raise
    return await get_job(job_id, owner=owner, jobs=jobs)
