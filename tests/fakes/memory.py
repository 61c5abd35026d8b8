"""Hand-written in-memory fakes of the ports, for use-case tests (no mocks of our code)."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.errors import GenerationError
from domain.models import (
    Charge,
    Claim,
    ClaimResult,
    GeneratedImage,
    ImageRequest,
    IssuedKey,
    Job,
    JobError,
    JobStatus,
    KeyInfo,
    KeyStatus,
    Plan,
    StoredImage,
)


@dataclass
class MemoryQuota:
    balances: dict[str, int] = field(default_factory=dict)  # key id → credits
    keys: dict[str, str] = field(default_factory=dict)  # key → key id
    refunds: list[tuple[str, int]] = field(default_factory=list)
    fail_refunds: bool = False
    refused: dict[str, KeyStatus] = field(default_factory=dict)  # key id → DISABLED | EXPIRED

    async def mint(self, plan: Plan) -> IssuedKey:
        key, key_id = "ig_" + secrets.token_hex(16), "key_" + secrets.token_hex(6)
        self.keys[key] = key_id
        self.balances[key_id] = plan.credits
        return IssuedKey(key=key, key_id=key_id, credits=plan.credits)

    async def charge(self, key: str, cost: int) -> Charge:
        key_id = self.keys.get(key)
        if key_id is None:
            return Charge(KeyStatus.NOT_FOUND)
        if key_id in self.refused:
            return Charge(self.refused[key_id], key_id, self.balances[key_id])
        if self.balances[key_id] < cost:
            return Charge(KeyStatus.USAGE_EXCEEDED, key_id, self.balances[key_id])
        self.balances[key_id] -= cost
        return Charge(KeyStatus.VALID, key_id, self.balances[key_id])

    def refund_sync(self, key_id: str, amount: int) -> None:
        if self.fail_refunds:
            raise ConnectionError("quota down")
        self.refunds.append((key_id, amount))
        self.balances[key_id] += amount

    async def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        self.refund_sync(key_id, amount)

    async def describe(self, key: str) -> KeyInfo | None:
        key_id = self.keys.get(key)
        if key_id is None or key_id in self.refused:
            return None
        return KeyInfo(key_id=key_id, start=key[:6], remaining=self.balances[key_id], refill=None)

    async def revoke(self, key_id: str) -> None:
        self.keys = {k: v for k, v in self.keys.items() if v != key_id}

    async def aclose(self) -> None:
        return None


@dataclass
class MemoryRefunder:
    quota: MemoryQuota

    def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        self.quota.refund_sync(key_id, amount)


class MemoryJobs:
    """Both the API's JobStore and the worker's JobTransitions over one dict."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.refund_claimed: set[str] = set()
        self.fail_add = False

    # API side
    async def add(self, job: Job) -> None:
        if self.fail_add:
            raise ConnectionError("store down")
        self.jobs[job.id] = job

    async def get(self, job_id: str, owner: str) -> Job | None:
        job = self.jobs.get(job_id)
        return job if job and job.owner == owner else None

    async def list(
        self, owner: str, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Job], str | None]:
        mine = sorted(
            (j for j in self.jobs.values() if j.owner == owner), key=lambda j: j.created_at
        )
        return list(reversed(mine))[:limit], None

    async def cancel(self, job_id: str, owner: str, now: datetime) -> tuple[Job | None, bool]:
        job = await self.get(job_id, owner)
        if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            return job, False
        job = job.evolve(status=JobStatus.CANCELED, finished_at=now)
        self.jobs[job_id] = job
        return job, True

    async def remove(self, job: Job) -> None:
        self.jobs.pop(job.id, None)

    async def withdraw(self, job_id: str, now: datetime) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            return None
        self.jobs[job_id] = job = job.evolve(status=JobStatus.CANCELED, finished_at=now)
        return job

    async def claim_refund(self, job_id: str) -> int:
        return self.claim_refund_sync(job_id)

    async def release_refund(self, job_id: str) -> None:
        self.release_refund_sync(job_id)

    async def ping(self) -> None:
        return None

    def claim_refund_sync(self, job_id: str) -> int:
        job = self.jobs.get(job_id)
        if job is None or job_id in self.refund_claimed:
            return 0
        self.refund_claimed.add(job_id)
        self.jobs[job_id] = job.evolve(refunded=job.charged)
        return job.charged

    def release_refund_sync(self, job_id: str) -> None:
        self.refund_claimed.discard(job_id)
        self.jobs[job_id] = self.jobs[job_id].evolve(refunded=0)


class MemoryLedger:
    """The worker's ledger over MemoryJobs; leases are expiry times kept beside the jobs."""

    def __init__(self, jobs: MemoryJobs) -> None:
        self.store = jobs
        self.leases: dict[str, datetime] = {}
        self.outbox: dict[str, datetime] = {}
        self.refunds: dict[str, datetime] = {}

    def get(self, job_id: str) -> Job | None:
        return self.store.jobs.get(job_id)

    def start(
        self, job_id: str, now: datetime, *, max_attempts: int, lease_seconds: float
    ) -> Claim:
        job = self.store.jobs.get(job_id)
        if job is None or job.status.terminal:
            return Claim(ClaimResult.FINISHED)
        if job.status is JobStatus.RUNNING and self.leases.get(job_id, now) > now:
            return Claim(ClaimResult.BUSY)
        if job.attempts >= max_attempts:
            return Claim(ClaimResult.EXHAUSTED, job)
        job = job.evolve(status=JobStatus.RUNNING, started_at=now, attempts=job.attempts + 1)
        self.store.jobs[job_id] = job
        self.leases[job_id] = now + timedelta(seconds=lease_seconds)
        self.outbox.pop(job_id, None)
        return Claim(ClaimResult.CLAIMED, job)

    def _holds(self, job_id: str, attempt: int) -> bool:
        job = self.store.jobs.get(job_id)
        return job is not None and job.status is JobStatus.RUNNING and job.attempts == attempt

    def renew(
        self, held: Collection[tuple[str, int]], now: datetime, lease_seconds: float
    ) -> list[tuple[str, int]]:
        lost = []
        for job_id, attempt in held:
            if self._holds(job_id, attempt):
                self.leases[job_id] = now + timedelta(seconds=lease_seconds)
            else:
                lost.append((job_id, attempt))
        return lost

    def requeue(self, job_id: str, attempt: int, error: JobError, *, due: datetime) -> Job | None:
        if not self._holds(job_id, attempt):
            return None
        job = self.store.jobs[job_id].evolve(status=JobStatus.QUEUED, error=error)
        self.store.jobs[job_id] = job
        self.leases.pop(job_id, None)
        self.outbox[job_id] = due
        return job

    def reclaim_expired(self, now: datetime, *, max_attempts: int, limit: int) -> list[Job]:
        out = []
        for job_id, until in list(self.leases.items()):
            job = self.store.jobs[job_id]
            if until > now or job.status is not JobStatus.RUNNING:
                continue
            del self.leases[job_id]
            if job.attempts >= max_attempts:
                error = JobError("worker_lost", "lost")
                job = job.evolve(status=JobStatus.FAILED, error=error, finished_at=now)
                self.refunds[job_id] = now
            else:
                job = job.evolve(status=JobStatus.QUEUED)
                self.outbox[job_id] = now
            self.store.jobs[job_id] = job
            out.append(job)
        return out[:limit]

    def unenqueued(self, before: datetime, limit: int) -> list[str]:
        return [j for j, since in self.outbox.items() if since <= before][:limit]

    def mark_enqueued(self, job_id: str) -> None:
        if job_id in self.outbox:  # checked on again only long after
            self.outbox[job_id] = datetime.max.replace(tzinfo=UTC)

    def refunds_due(self, before: datetime, limit: int) -> list[Job]:
        due = [j for j, since in self.refunds.items() if since <= before]
        return [self.store.jobs[j] for j in due][:limit]

    def succeed(
        self, job_id: str, attempt: int, images: Sequence[StoredImage], now: datetime
    ) -> Job | None:
        job = self.store.jobs.get(job_id)
        if job is None or not self._holds(job_id, attempt):
            return None
        self.leases.pop(job_id, None)
        job = job.evolve(status=JobStatus.SUCCEEDED, images=tuple(images), finished_at=now)
        self.store.jobs[job_id] = job
        return job

    def fail(self, job_id: str, attempt: int | None, error: JobError, now: datetime) -> Job | None:
        job = self.store.jobs.get(job_id)
        if job is None or job.status.terminal:
            return None
        if attempt is not None and not self._holds(job_id, attempt):
            return None
        if (
            attempt is None
            and job.status is JobStatus.RUNNING
            and self.leases.get(job_id, now) > now
        ):
            return None
        self.leases.pop(job_id, None)
        self.refunds[job_id] = now
        job = job.evolve(status=JobStatus.FAILED, error=error, finished_at=now)
        self.store.jobs[job_id] = job
        return job

    def claim_refund(self, job_id: str) -> int:
        self.refunds.pop(job_id, None)
        return self.store.claim_refund_sync(job_id)

    def release_refund(self, job_id: str) -> None:
        self.store.release_refund_sync(job_id)
        self.refunds[job_id] = datetime.min.replace(tzinfo=UTC)  # owed: due at once


class NoLeases:
    @contextmanager
    def hold(self, job_id: str, attempt: int) -> Iterator[None]:
        yield

    def lost(self, job_id: str, attempt: int) -> bool:
        return False


@dataclass
class MemoryQueue:
    sent: list[str] = field(default_factory=list)
    countdowns: list[float] = field(default_factory=list)  # of dispatched jobs, in order
    down: bool = False  # publishing fails
    known_down: bool = False  # the queue already knows: submits are refused before charging

    def accepting(self) -> bool:
        return not self.known_down

    async def enqueue(self, job_id: str) -> None:
        if self.down:
            raise ConnectionError("broker down")
        self.sent.append(job_id)

    async def ping(self) -> None:
        if self.down:
            raise ConnectionError("broker down")

    def dispatch(self, job_id: str, *, countdown: float = 0) -> None:
        """The worker side's JobDispatcher: a retry or a sweep sends the job again."""
        if self.down:
            raise ConnectionError("broker down")
        self.sent.append(job_id)
        self.countdowns.append(countdown)


@dataclass
class ScriptedGenerator:
    """Raises the scripted errors in order, then succeeds."""

    errors: list[GenerationError] = field(default_factory=list)
    calls: int = 0

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return [GeneratedImage(b"img%d" % i, "image/png") for i in range(request.n)]


@dataclass
class MemoryImages:
    data: dict[tuple[str, int, int], bytes] = field(default_factory=dict)

    def put(self, job_id: str, attempt: int, index: int, image: GeneratedImage) -> StoredImage:
        self.data[(job_id, attempt, index)] = image.data
        return StoredImage(index, image.content_type, len(image.data), attempt)

    def get(self, job_id: str, attempt: int, index: int) -> bytes | None:
        return self.data.get((job_id, attempt, index))

    def delete(self, job_id: str, attempt: int) -> None:
        self.data = {k: v for k, v in self.data.items() if k[:2] != (job_id, attempt)}

    def purge(self, before: datetime, limit: int) -> int:
        return 0  # the memory store is per test
