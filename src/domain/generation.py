"""The worker's use case: run one attempt of a generation job.

Retries have one budget, `job.attempts` (counted by the ledger when an attempt claims the job):
this use case decides retry or fail, and a retry goes back through the dispatcher with its
countdown. Every state change names the attempt, so an attempt that lost its lease (a stalled
worker the sweeper gave up on) publishes nothing, and deletes only the images it stored.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from domain.errors import WORKER_LOST, GenerationError
from domain.models import ClaimResult, Job, JobError, JobStatus
from domain.ports import (
    Clock,
    CreditRefunder,
    ImageGenerator,
    ImageStore,
    JobDispatcher,
    JobTransitions,
    LeaseKeeper,
)
from domain.refunds import refund_job

log = logging.getLogger("imagegate.domain")

INTERNAL = JobError("internal", "The generation failed unexpectedly.")
STORE_UNAVAILABLE = JobError("store_unavailable", "The images could not be stored.")


@dataclass(frozen=True, slots=True)
class GenerationOutcome:
    status: JobStatus | None  # None: nothing done (unknown, terminal, busy or lost job)
    retry_after: float | None = None  # set when the job went back to the queue for a retry
    job: Job | None = None  # the job as this attempt claimed it (when it did anything)

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


def _nothing(_: Job) -> None:
    return None


def end_user_id(key_id: str) -> str:
    """A stable, non-reversible id of the end user for the image provider's safety systems."""
    return hashlib.sha256(f"imagegate:{key_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RunGeneration:
    """Claim → generate → store → succeed. A redelivered terminal job is a no-op."""

    ledger: JobTransitions
    generator: ImageGenerator
    store: ImageStore
    refunder: CreditRefunder
    leases: LeaseKeeper
    dispatcher: JobDispatcher
    clock: Clock
    policy: WorkerPolicy
    # Told the claimed job before anything else happens (the worker binds its request id
    # to the log context): the claim's reply carries the record, so nobody reads it again.
    on_claim: Callable[[Job], object] = _nothing

    def __call__(self, job_id: str) -> GenerationOutcome:
        policy = self.policy
        claim = self.ledger.start(
            job_id, self.clock.now(), max_attempts=policy.max_attempts,
            lease_seconds=policy.lease_seconds,
        )  # fmt: skip
        job = claim.job
        if job is not None and claim.result in (ClaimResult.CLAIMED, ClaimResult.EXHAUSTED):
            self.on_claim(job)
        if claim.result is ClaimResult.EXHAUSTED:  # each earlier attempt died without finishing
            return replace(self._fail(job_id, None, WORKER_LOST), job=job)
        if claim.result is not ClaimResult.CLAIMED or job is None:
            return GenerationOutcome(status=None)
        with self.leases.hold(job_id, job.attempts):
            return replace(self._attempt(job), job=job)

    def _attempt(self, job: Job) -> GenerationOutcome:
        attempt = job.attempts
        try:
            generated = self.generator.generate(job.request, user=end_user_id(job.owner))
        except GenerationError as exc:
            error = JobError(exc.code, exc.detail)
            if exc.transient:
                delay = exc.retry_after if exc.retry_after is not None else backoff(attempt)
                log.info("job %s: transient %s: %s", job.id, exc.code, exc.detail)
                return self._retry_or_fail(job, error, delay)
            return self._fail(job.id, attempt, error)
        except Exception:
            log.exception("job %s: unexpected error during generation", job.id)
            return self._fail(job.id, attempt, INTERNAL)
        if self.leases.lost(job.id, attempt):  # canceled or past its deadline meanwhile
            self._lost(job)
            return GenerationOutcome(status=None)
        try:
            stored = [
                self.store.put(job.id, attempt, index, image)
                for index, image in enumerate(generated)
            ]
        except Exception as exc:  # the image store is away: the images are lost, try again
            log.warning("job %s: storing images failed: %r", job.id, exc)
            return self._retry_or_fail(job, STORE_UNAVAILABLE, backoff(attempt))
        if self.ledger.succeed(job.id, attempt, stored, self.clock.now()) is None:
            self._lost(job)
            return GenerationOutcome(status=None)
        return GenerationOutcome(status=JobStatus.SUCCEEDED)

    def _retry_or_fail(self, job: Job, error: JobError, delay: float) -> GenerationOutcome:
        if job.attempts >= self.policy.max_attempts:
            return self._fail(job.id, job.attempts, error)
        due = self.clock.now() + timedelta(seconds=delay)
        if self.ledger.requeue(job.id, job.attempts, error, due=due) is None:
            self._lost(job)
            return GenerationOutcome(status=None)
        log.info("job %s: attempt %d failed, retry in %.1fs", job.id, job.attempts, delay)
        try:
            self.dispatcher.dispatch(job.id, countdown=delay)
        except Exception:  # the job waits in the outbox: the sweeper sends it
            log.warning("job %s: sending the retry failed; the sweeper will", job.id, exc_info=True)
        return GenerationOutcome(status=JobStatus.QUEUED, retry_after=delay)

    def _fail(self, job_id: str, attempt: int | None, error: JobError) -> GenerationOutcome:
        failed = self.ledger.fail(job_id, attempt, error, self.clock.now())
        if failed is None:
            return GenerationOutcome(status=None)
        try:
            refund_job(failed, ledger=self.ledger, refunder=self.refunder)
        except Exception:  # the sweeper retries owed refunds
            log.warning("job %s: refund failed; the sweeper will retry it", job_id, exc_info=True)
        return GenerationOutcome(status=JobStatus.FAILED)

    def _lost(self, job: Job) -> None:
        """This attempt no longer holds the job (its lease expired, or it was canceled):
        another attempt or nobody publishes; this one removes only its own images."""
        log.warning("job %s: attempt %d lost the job; its images discarded", job.id, job.attempts)
        self.store.delete(job.id, job.attempts)
