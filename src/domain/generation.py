"""Use cases of the worker side: run a generation, and sweep up after crashes."""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

from domain.errors import GenerationError
from domain.models import ClaimResult, Job, JobError, JobStatus
from domain.ports import (
    Clock,
    CreditRefunder,
    ImageGenerator,
    ImageStore,
    JobDispatcher,
    JobLedger,
    LeaseKeeper,
)

log = logging.getLogger("imagegate.domain")

WORKER_LOST = JobError("worker_lost", "The job's workers were lost too many times.")


@dataclass(frozen=True, slots=True)
class GenerationOutcome:
    status: JobStatus | None  # None: nothing done (unknown, terminal or busy job)
    retry_after: float | None = None  # set when the job went back to the queue for a retry

    @property
    def retry(self) -> bool:
        return self.status is JobStatus.QUEUED


@dataclass(frozen=True)
class WorkerPolicy:
    max_attempts: int
    lease_seconds: float


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: ~1 s, 2 s, 4 s … capped at 60 s."""
    return float(min(60.0, 2.0 ** max(0, attempt - 1)) * (0.5 + random.random() / 2))


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
    leases: LeaseKeeper,
    clock: Clock,
    policy: WorkerPolicy,
    may_retry: bool,
) -> GenerationOutcome:
    """Claim → generate → store → succeed. A redelivered terminal job is a no-op."""
    claim = ledger.start(
        job_id, clock.now(), max_attempts=policy.max_attempts, lease_seconds=policy.lease_seconds
    )
    if claim.result is ClaimResult.EXHAUSTED:
        # Each earlier attempt died without finishing.
        return _fail(job_id, WORKER_LOST, ledger=ledger, refunder=refunder, clock=clock)
    if claim.result is not ClaimResult.CLAIMED or claim.job is None:
        return GenerationOutcome(status=None)
    job = claim.job
    with leases.hold(job_id):
        try:
            generated = generator.generate(job.request, user=end_user_id(job.owner))
        except GenerationError as exc:
            error = JobError(exc.code, exc.detail)
            if exc.transient and may_retry and job.attempts < policy.max_attempts:
                delay = exc.retry_after if exc.retry_after is not None else backoff(job.attempts)
                ledger.requeue(job_id, error, due=clock.now() + timedelta(seconds=delay))
                log.info(
                    "job %s: transient %s, retry in %.1fs: %s", job_id, exc.code, delay, exc.detail
                )
                return GenerationOutcome(status=JobStatus.QUEUED, retry_after=delay)
            return _fail(job_id, error, ledger=ledger, refunder=refunder, clock=clock)
        except Exception:
            log.exception("job %s: unexpected error during generation", job_id)
            error = JobError("internal", "The generation failed unexpectedly.")
            return _fail(job_id, error, ledger=ledger, refunder=refunder, clock=clock)
        try:
            stored = [store.put(job_id, index, image) for index, image in enumerate(generated)]
        except Exception as exc:  # the image store is away: the images are lost, try again
            log.warning("job %s: storing images failed: %r", job_id, exc)
            error = JobError("store_unavailable", "The images could not be stored.")
            if may_retry and job.attempts < policy.max_attempts:
                delay = backoff(job.attempts)
                ledger.requeue(job_id, error, due=clock.now() + timedelta(seconds=delay))
                return GenerationOutcome(status=JobStatus.QUEUED, retry_after=delay)
            return _fail(job_id, error, ledger=ledger, refunder=refunder, clock=clock)
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
    try:
        refund_job(failed, ledger=ledger, refunder=refunder)
    except Exception:  # the sweeper retries owed refunds
        log.warning("job %s: refund failed; the sweeper will retry it", job_id, exc_info=True)
    return GenerationOutcome(status=JobStatus.FAILED)


def refund_job(job: Job, *, ledger: JobLedger, refunder: CreditRefunder) -> int:
    """Give a job's credits back, at most once whatever retries or crashes."""
    amount = ledger.claim_refund(job.id)
    if not amount:
        return 0
    try:
        refunder.refund(job.owner, amount)
    except Exception:
        ledger.release_refund(job.id)
        raise
    return amount


@dataclass
class SweepReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    enqueued: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.requeued or self.failed or self.enqueued or self.refunded)


def sweep(
    *,
    ledger: JobLedger,
    dispatcher: JobDispatcher,
    refunder: CreditRefunder,
    clock: Clock,
    policy: WorkerPolicy,
    grace: timedelta,
    limit: int = 100,
) -> SweepReport:
    """Recover from crashes anywhere: lost workers, an API that died before enqueueing, refunds
    that could not be made. Safe to run concurrently and repeatedly: every step is atomic."""
    report = SweepReport()
    now = clock.now()
    for job in ledger.reclaim_expired(now, max_attempts=policy.max_attempts, limit=limit):
        if job.status is JobStatus.FAILED:
            report.failed.append(job.id)
        else:
            report.requeued.append(job.id)
    # Reclaimed jobs sit in the outbox already; enqueue them now rather than after the grace.
    for job_id in [*report.requeued, *ledger.unenqueued(now - grace, limit)]:
        dispatcher.enqueue_sync(job_id)
        ledger.mark_enqueued(job_id)
        if job_id not in report.requeued:
            report.enqueued.append(job_id)
    due = ledger.refunds_due(now if report.failed else now - grace, limit)
    for job in due:
        try:
            if refund_job(job, ledger=ledger, refunder=refunder):
                report.refunded.append(job.id)
        except Exception:
            log.warning("job %s: refund still failing", job.id, exc_info=True)
    return report
