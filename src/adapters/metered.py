"""Decorators that count and time calls through the ports, so the domain stays free of metrics.

Each wraps a port and forwards to it; anything they do not instrument passes straight through.
Credits are counted where they move (an accepted charge, a refund), job outcomes where a job's
state changes atomically (so a redelivery or a race never counts twice).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from adapters.prometheus_metrics import Metrics
from domain.errors import GenerationError
from domain.models import (
    Charge,
    GeneratedImage,
    ImageRequest,
    IssuedKey,
    Job,
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
    JobLedger,
    QuotaProvider,
)

T = TypeVar("T")


class MeteredQuotaProvider:
    """QuotaProvider: latency of every call; credits charged and refunded."""

    def __init__(self, inner: QuotaProvider, metrics: Metrics, *, provider: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._provider = provider

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started, outcome = time.perf_counter(), "error"
        try:
            result = await call
            outcome = "ok"
            return result
        finally:
            self._metrics.quota_duration.labels(self._provider, operation, outcome).observe(
                time.perf_counter() - started
            )

    async def mint(self, plan: Plan) -> IssuedKey:
        return await self._timed("mint", self._inner.mint(plan))

    async def charge(self, key: str, cost: int) -> Charge:
        # A cost-0 charge only resolves the key: keep it apart from real spending.
        operation = "charge" if cost > 0 else "authenticate"
        charge = await self._timed(operation, self._inner.charge(key, cost))
        if charge.accepted and cost > 0:
            self._metrics.credits_charged.inc(cost)
        return charge

    async def refund(self, key_id: str, amount: int) -> None:
        await self._timed("refund", self._inner.refund(key_id, amount))
        self._metrics.credits_refunded.inc(amount)

    async def describe(self, key: str) -> KeyInfo | None:
        return await self._timed("describe", self._inner.describe(key))

    async def revoke(self, key_id: str) -> None:
        await self._timed("revoke", self._inner.revoke(key_id))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MeteredJobAdmission:
    """JobAdmission: its latency as the quota's `charge`, and the credits it charged."""

    def __init__(self, inner: JobAdmission, metrics: Metrics, *, provider: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._provider = provider

    async def admit(self, key: str, draft: Job) -> tuple[Charge, Job | None]:
        started, outcome = time.perf_counter(), "error"
        try:
            charge, job = await self._inner.admit(key, draft)
            outcome = "ok"
        finally:
            self._metrics.quota_duration.labels(self._provider, "charge", outcome).observe(
                time.perf_counter() - started
            )
        if job is not None:
            self._metrics.credits_charged.inc(job.charged)
        return charge, job


class MeteredCreditRefunder:
    """CreditRefunder (the worker's side of the quota): latency and credits refunded."""

    def __init__(self, inner: CreditRefunder, metrics: Metrics, *, provider: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._provider = provider

    def refund(self, key_id: str, amount: int) -> None:
        started, outcome = time.perf_counter(), "error"
        try:
            self._inner.refund(key_id, amount)
            outcome = "ok"
        finally:
            self._metrics.quota_duration.labels(self._provider, "refund", outcome).observe(
                time.perf_counter() - started
            )
        self._metrics.credits_refunded.inc(amount)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MeteredImageGenerator:
    """ImageGenerator: generations in flight and their duration by outcome."""

    def __init__(self, inner: ImageGenerator, metrics: Metrics, *, generator: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._generator = generator
        self._in_flight = metrics.generations_in_flight.labels(generator)
        self._in_flight.set(0)  # present from the start, not only after the first job

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        started, outcome = time.perf_counter(), "internal"
        self._in_flight.inc()
        try:
            images = self._inner.generate(request, user=user)
            outcome = "ok"
            return images
        except GenerationError as exc:
            outcome = exc.code
            raise
        finally:
            self._in_flight.dec()
            self._metrics.generation_duration.labels(self._generator, outcome).observe(
                time.perf_counter() - started
            )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MeteredJobLedger:
    """JobLedger: counts each job once, when its transition to a final status succeeds."""

    def __init__(self, inner: JobLedger, metrics: Metrics) -> None:
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

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
