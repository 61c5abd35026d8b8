"""Use cases. The HTTP handlers and the Celery task are thin callers of these."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import credits
from domain.errors import (
    GenerationError,
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
    JobError,
    JobStatus,
    KeyInfo,
    KeyStatus,
    Plan,
)
from domain.ports import (
    Clock,
    CreditRefunder,
    ImageGenerator,
    ImageStore,
    JobLedger,
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
) -> Submitted:
    """Validate → charge → record `queued` → enqueue. Never leaves a charged job unqueued."""
    validate_request(request, allowed_models)
    charge = await quota.charge(key, request.n)
    raise_for_refusal(charge, clock.now())
    assert charge.key_id is not None
    job = Job.queued(
        owner=charge.key_id, request=request, now=clock.now(), ttl=job_ttl, request_id=request_id
    )
    try:
        await jobs.add(job)
    except Exception as exc:
        log.warning("recording job failed, refunding %s credits: %r", request.n, exc)
        await _refund_quietly(quota, charge.key_id, request.n)
        raise StoreUnavailable() from None
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


# --- jobs: the worker side ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GenerationOutcome:
    status: JobStatus | None  # None: nothing done (unknown or already terminal job)
    retry_after: float | None = None  # set when the job went back to the queue for a retry

    @property
    def retry(self) -> bool:
        return self.status is JobStatus.QUEUED


def end_user_id(key_id: str) -> str:
    """A stable, non-reversible id of the end user for the image provider's safety systems."""
    return hashlib.sha256(f"imagegate:{key_id}".encode()).hexdigest()[:32]


def run_generation(
    job_id: str,
    *,
    ledger: JobLedger,
    generator: ImageGenerator,
    store: ImageStore,
    refunder: CreditRefunder,
    clock: Clock,
    max_attempts: int,
    may_retry: bool,
) -> GenerationOutcome:
    """Claim → generate → store → succeed. A redelivered terminal job is a no-op."""
    job = ledger.start(job_id, clock.now(), max_attempts)
    if job is None:
        current = ledger.get(job_id)
        if current is None or current.status.terminal:
            return GenerationOutcome(status=None)
        # Attempts exhausted: each earlier attempt died without finishing.
        error = JobError("worker_lost", "The job's workers were lost too many times.")
        return _fail(job_id, error, ledger=ledger, refunder=refunder, clock=clock)
    try:
        generated = generator.generate(job.request, user=end_user_id(job.owner))
    except GenerationError as exc:
        error = JobError(exc.code, exc.detail)
        if exc.transient and may_retry and job.attempts < max_attempts:
            ledger.requeue(job_id, error)
            log.info("job %s: transient %s, retrying: %s", job_id, exc.code, exc.detail)
            return GenerationOutcome(status=JobStatus.QUEUED, retry_after=exc.retry_after)
        return _fail(job_id, error, ledger=ledger, refunder=refunder, clock=clock)
    except Exception:
        log.exception("job %s: unexpected error during generation", job_id)
        error = JobError("internal", "The generation failed unexpectedly.")
        return _fail(job_id, error, ledger=ledger, refunder=refunder, clock=clock)
    stored = [store.put(job_id, index, image) for index, image in enumerate(generated)]
    if ledger.succeed(job_id, stored, clock.now()) is None:
        store.delete(job_id)  # the job ended some other way meanwhile (e.g. the sweeper)
        return GenerationOutcome(status=None)
    return GenerationOutcome(status=JobStatus.SUCCEEDED)


def _fail(
    job_id: str, error: JobError, *, ledger: JobLedger, refunder: CreditRefunder, clock: Clock
) -> GenerationOutcome:
    failed = ledger.fail(job_id, error, clock.now())
    if failed is None:
        return GenerationOutcome(status=None)
    refund_failed_job(failed, ledger=ledger, refunder=refunder)
    return GenerationOutcome(status=JobStatus.FAILED)


def refund_failed_job(job: Job, *, ledger: JobLedger, refunder: CreditRefunder) -> None:
    """Give a failed job's credits back, at most once whatever retries or crashes."""
    amount = ledger.claim_refund(job.id)
    if not amount:
        return
    try:
        refunder.refund(job.owner, amount)
    except Exception:
        ledger.release_refund(job.id)
        raise
