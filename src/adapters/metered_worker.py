"""Decorators that count and time the worker's calls through its ports (see adapters/metered.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from adapters.metered import QuotaCalls, timed
from adapters.prometheus_metrics import Metrics
from domain.errors import GenerationError
from domain.models import Claim, GeneratedImage, ImageRequest, Job, JobError, JobStatus, StoredImage
from domain.ports import CreditRefunder, ImageGenerator, JobTransitions


class MeteredCreditRefunder(QuotaCalls[CreditRefunder]):
    """CreditRefunder (the worker's side of the quota): latency and credits refunded."""

    def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        with self._timed("refund"):
            self._inner.refund(key_id, amount, job_id=job_id)
        self._metrics.credits_refunded.inc(amount)


class MeteredImageGenerator:
    """ImageGenerator: generations in flight and their duration by outcome."""

    def __init__(self, inner: ImageGenerator, metrics: Metrics, *, generator: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._generator = generator
        self._in_flight = metrics.generations_in_flight.labels(generator)
        self._in_flight.set(0)  # present from the start, not only after the first job

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        self._in_flight.inc()
        try:
            with timed(
                self._metrics.generation_duration, self._generator, failed="internal"
            ) as outcome:
                try:
                    return self._inner.generate(request, user=user)
                except GenerationError as exc:
                    outcome.label = exc.code
                    raise
        finally:
            self._in_flight.dec()


class MeteredJobTransitions:
    """JobTransitions: counts each job once, when its transition to a final status succeeds."""

    def __init__(self, inner: JobTransitions, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def succeed(
        self, job_id: str, attempt: int, images: Sequence[StoredImage], now: datetime
    ) -> Job | None:
        job = self._inner.succeed(job_id, attempt, images, now)
        if job is not None:
            self._metrics.job_finished(JobStatus.SUCCEEDED.value, None)
        return job

    def fail(self, job_id: str, attempt: int | None, error: JobError, now: datetime) -> Job | None:
        job = self._inner.fail(job_id, attempt, error, now)
        if job is not None:
            self._metrics.job_finished(JobStatus.FAILED.value, error.code)
        return job

    def reclaim_expired(self, now: datetime, *, max_attempts: int, limit: int) -> list[Job]:
        """The sweeper's path: jobs that lost their worker too often end `failed` here."""
        jobs = self._inner.reclaim_expired(now, max_attempts=max_attempts, limit=limit)
        for job in jobs:
            if job.status is JobStatus.FAILED:
                self._metrics.job_finished(job.status.value, job.error.code if job.error else None)
        return jobs

    # Not instrumented: forwarded as they are.

    def get(self, job_id: str) -> Job | None:
        return self._inner.get(job_id)

    def start(
        self, job_id: str, now: datetime, *, max_attempts: int, lease_seconds: float
    ) -> Claim:
        return self._inner.start(
            job_id, now, max_attempts=max_attempts, lease_seconds=lease_seconds
        )

    def renew(
        self, held: Collection[tuple[str, int]], now: datetime, lease_seconds: float
    ) -> list[tuple[str, int]]:
        return self._inner.renew(held, now, lease_seconds)

    def requeue(self, job_id: str, attempt: int, error: JobError, *, due: datetime) -> Job | None:
        return self._inner.requeue(job_id, attempt, error, due=due)

    def claim_refund(self, job_id: str) -> int:
        return self._inner.claim_refund(job_id)

    def release_refund(self, job_id: str) -> None:
        self._inner.release_refund(job_id)

    def unenqueued(self, before: datetime, limit: int) -> list[str]:
        return self._inner.unenqueued(before, limit)

    def mark_enqueued(self, job_id: str) -> None:
        self._inner.mark_enqueued(job_id)

    def refunds_due(self, before: datetime, limit: int) -> list[Job]:
        return self._inner.refunds_due(before, limit)
