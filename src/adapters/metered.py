"""Decorators that count and time calls through the ports, so the domain stays free of metrics:
the API's ports here (and the timing both sides use), the worker's in adapters/metered_worker.py.

Each wraps one port and forwards every member of it explicitly (a member the port gains must be
added here: mypy says so where the decorator is wired). Credits are counted where they move (an
accepted charge, a refund), job outcomes where a job's state changes atomically (so a
redelivery or a race never counts twice).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Generic, TypeVar

from prometheus_client import Histogram

from adapters.prometheus_metrics import Metrics
from domain.models import Charge, IssuedKey, Job, JobDraft, KeyInfo, Plan
from domain.ports import JobAdmission, JobStore, QuotaProvider

Port = TypeVar("Port")


class Outcome:
    label = "error"  # what the histogram records unless the block says otherwise


@contextmanager
def timed(histogram: Histogram, *labels: str, failed: str = "error") -> Iterator[Outcome]:
    """Observe the block's duration under `labels` + its outcome: "ok" when it returns,
    `failed` when it raises, or whatever the block set on the yielded outcome."""
    outcome = Outcome()
    outcome.label = failed
    started = time.perf_counter()
    try:
        yield outcome
        if outcome.label == failed:
            outcome.label = "ok"
    finally:
        histogram.labels(*labels, outcome.label).observe(time.perf_counter() - started)


class QuotaCalls(Generic[Port]):
    """What the wrappers of the quota ports share: their calls timed under the provider's name
    (`imagegate_quota_request_duration_seconds{provider, operation, outcome}`)."""

    def __init__(self, inner: Port, metrics: Metrics, *, provider: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._provider = provider

    def _timed(self, operation: str) -> AbstractContextManager[Outcome]:
        return timed(self._metrics.quota_duration, self._provider, operation)


class MeteredQuotaProvider(QuotaCalls[QuotaProvider]):
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


class MeteredJobAdmission(QuotaCalls[JobAdmission]):
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

    async def withdraw(self, job_id: str, now: datetime) -> Job | None:
        job = await self._inner.withdraw(job_id, now)
        if job is not None:
            self._metrics.job_finished(job.status.value, job.error.code if job.error else None)
        return job

    async def claim_refund(self, job_id: str) -> int:
        return await self._inner.claim_refund(job_id)

    async def release_refund(self, job_id: str) -> None:
        await self._inner.release_refund(job_id)

    async def ping(self) -> None:
        await self._inner.ping()
