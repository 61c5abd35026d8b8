"""Decorators that count and time calls through the ports, so the domain stays free of metrics.

Each wraps one port and forwards every member of it explicitly (a member the port gains must be
added here: mypy says so where the decorator is wired). Credits are counted where they move (an
accepted charge, a refund), job outcomes where a job's state changes atomically (so a
redelivery or a race never counts twice).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Generic, TypeVar

from prometheus_client import Histogram

from adapters.prometheus_metrics import Metrics
from domain.errors import GenerationError
from domain.models import (
    Charge,
    Claim,
    GeneratedImage,
    ImageRequest,
    IssuedKey,
    Job,
    JobDraft,
    JobError,
    JobStatus,
    KeyInfo,
    Plan,
    StoredImage,
)
from domain.ports import (
    CreditRefunder,
    ImageGenerator,
    JobAdmission,
    JobStore,
    JobTransitions,
    QuotaProvider,
)

Port = TypeVar("Port")


class _Outcome:
    label = "error"  # what the histogram records unless the block says otherwise


@contextmanager
def timed(histogram: Histogram, *labels: str, failed: str = "error") -> Iterator[_Outcome]:
    """Observe the block's duration under `labels` + its outcome: "ok" when it returns,
    `failed` when it raises, or whatever the block set on the yielded outcome."""
    outcome = _Outcome()
    outcome.label = failed
    started = time.perf_counter()
    try:
        yield outcome
        if outcome.label == failed:
            outcome.label = "ok"
    finally:
        histogram.labels(*labels, outcome.label).observe(time.perf_counter() - started)


class _QuotaCalls(Generic[Port]):
    """What the wrappers of the quota ports share: their calls timed under the provider's name
    (`imagegate_quota_request_duration_seconds{provider, operation, outcome}`)."""

    def __init__(self, inner: Port, metrics: Metrics, *, provider: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._provider = provider

    def _timed(self, operation: str) -> AbstractContextManager[_Outcome]:
        return timed(self._metrics.quota_duration, self._provider, operation)


class MeteredQuotaProvider(_QuotaCalls[QuotaProvider]):
    """QuotaProvider: latency of every call; credits charged and refunded."""

    async def mint(self, plan: Plan) -> IssuedKey:
        with self._timed("mint"):
            return await self._inner.mint(plan)

    async def charge(self, key: str, cost: int) -> Charge:
        # A cost-0 charge only resolves the key: keep it apart from real spending.
        with self._timed("charge" if cost > 0 else "authenticate"):
            charge = await self._inner.charge(key, cost)
        if charge.accepted and cost > 0:
            self._metrics.credits_charged.inc(cost)
        return charge

    async def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        with self._timed("refund"):
            await self._inner.refund(key_id, amount, job_id=job_id)
        self._metrics.credits_refunded.inc(amount)

    async def describe(self, key: str) -> KeyInfo | None:
        with self._timed("describe"):
            return await self._inner.describe(key)

    async def revoke(self, key_id: str) -> None:
        with self._timed("revoke"):
            await self._inner.revoke(key_id)

    async def aclose(self) -> None:
        await self._inner.aclose()


class MeteredJobAdmission(_QuotaCalls[JobAdmission]):
    """JobAdmission: its latency as the quota's `charge`, and the credits it charged."""

    async def admit(self, key: str, draft: JobDraft) -> tuple[Charge, Job | None]:
        with self._timed("charge"):
            charge, job = await self._inner.admit(key, draft)
        if job is not None:
            self._metrics.credits_charged.inc(job.charged)
        return charge, job


class MeteredJobStore:
    """JobStore (the API's side of the jobs): counts a job canceled when this call
    canceled it — the API's one final transition."""

    def __init__(self, inner: JobStore, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def add(self, job: Job) -> None:
        await self._inner.add(job)

    async def get(self, job_id: str, owner: str) -> Job | None:
        return await self._inner.get(job_id, owner)

    async def list(
        self, owner: str, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Job], str | None]:
        return await self._inner.list(owner, limit=limit, cursor=cursor)

    async def cancel(self, job_id: str, owner: str, now: datetime) -> tuple[Job | None, bool]:
        job, changed = await self._inner.cancel(job_id, owner, now)
        if changed and job is not None:
            self._metrics.job_finished(job.status.value, job.error.code if job.error else None)
        return job, changed

    async def remove(self, job: Job) -> None:
        await self._inner.remove(job)

    async def claim_refund(self, job_id: str) -> int:
        return await self._inner.claim_refund(job_id)

    async def release_refund(self, job_id: str) -> None:
        await self._inner.release_refund(job_id)

    async def ping(self) -> None:
        await self._inner.ping()


class MeteredCreditRefunder(_QuotaCalls[CreditRefunder]):
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
