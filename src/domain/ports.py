"""Ports: what the domain needs from the outside world. Adapters satisfy them structurally.

The API side is asynchronous (one event loop serving many requests); the worker side is
synchronous (a Celery thread pool, one generation per thread), so each side has its own ports.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from domain.models import (
    Charge,
    Claim,
    GeneratedImage,
    ImageRequest,
    IssuedKey,
    Job,
    JobDraft,
    JobError,
    KeyInfo,
    Plan,
    StoredImage,
)
from domain.queue_eta import QueuePlace, QueueStats


class Clock(Protocol):
    def now(self) -> datetime: ...


class QuotaProvider(Protocol):
    """Keys and credits (Unkey or the built-in Redis store)."""

    async def mint(self, plan: Plan) -> IssuedKey: ...

    async def charge(self, key: str, cost: int) -> Charge:
        """Verify `key` and subtract `cost` atomically; a refused charge subtracts nothing."""
        ...

    async def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        """Give `amount` back; a job's refund (with its `job_id`) is made at most once."""
        ...

    async def describe(self, key: str) -> KeyInfo | None:
        """The key's state without spending anything; None when the key is not valid."""
        ...

    async def revoke(self, key_id: str) -> None: ...

    async def aclose(self) -> None: ...


class CreditRefunder(Protocol):
    """The worker's side of the quota: give credits back to a key id."""

    def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None: ...


class JobStore(Protocol):
    """Jobs as the API sees them. Reads are scoped to the owner (a key id)."""

    async def add(self, job: Job) -> None: ...

    async def get(self, job_id: str, owner: str) -> Job | None: ...

    async def list(
        self, owner: str, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Job], str | None]:
        """Newest first. Raises InvalidCursor for a cursor this store did not hand out."""
        ...

    async def cancel(self, job_id: str, owner: str, now: datetime) -> tuple[Job | None, bool]:
        """queued → canceled, atomically. Returns the job as it now is (None: not found) and
        whether this call canceled it."""
        ...

    async def remove(self, job: Job) -> None:
        """Forget a job that never reached the queue."""
        ...

    async def withdraw(self, job_id: str, now: datetime) -> Job | None:
        """queued or running → canceled with its refund owed, whoever owns it: a job whose
        submit was refused although it may have been recorded. Returns the job if this call
        ended it (None: never recorded, or already over)."""
        ...

    async def claim_refund(self, job_id: str) -> int:
        """Mark the job refunded; returns the credits to give back (0 if already refunded)."""
        ...

    async def release_refund(self, job_id: str) -> None:
        """Undo claim_refund when the refund itself could not be made."""
        ...

    async def ping(self) -> None: ...


class JobTransitions(Protocol):
    """Jobs as the worker and the sweeper see them: atomic state transitions.

    A running job holds a lease that its worker renews; a job whose lease expired lost its
    worker. Every transition a worker makes names its attempt (the `attempts` count the claim
    returned) and is refused once that attempt no longer holds the job, so an attempt that
    stalled past its lease and woke after another took over changes nothing. Jobs not yet
    handed to the broker sit in an outbox, and failed or canceled jobs whose refund is still
    owed in a refund queue, so a crash at any point is recoverable.
    """

    def get(self, job_id: str) -> Job | None: ...

    def start(
        self, job_id: str, now: datetime, *, max_attempts: int, lease_seconds: float
    ) -> Claim:
        """queued (or running with an expired lease) → running, attempts + 1, leased."""
        ...

    def renew(
        self, held: Collection[tuple[str, int]], now: datetime, lease_seconds: float
    ) -> list[tuple[str, int]]:
        """Extend the leases of these (job id, attempt) pairs that still hold their job; the
        pairs that no longer do (canceled, past the deadline, taken over)."""
        ...

    def requeue(self, job_id: str, attempt: int, error: JobError, *, due: datetime) -> Job | None:
        """running → queued, to be retried at `due`; keeps the last error for the record.
        The job stays in the outbox until a worker claims it again."""
        ...

    def succeed(
        self, job_id: str, attempt: int, images: Sequence[StoredImage], now: datetime
    ) -> Job | None: ...

    def fail(self, job_id: str, attempt: int | None, error: JobError, now: datetime) -> Job | None:
        """→ failed, its refund owed: by the attempt holding the job, or (attempt None) a job
        no attempt holds. None when refused."""
        ...

    def claim_refund(self, job_id: str) -> int:
        """Mark the refund made; the credits to give back (0 if already claimed)."""
        ...

    def release_refund(self, job_id: str) -> None:
        """The refund could not be made: owe it again."""
        ...

    def reclaim_expired(self, now: datetime, *, max_attempts: int, limit: int) -> list[Job]:
        """Jobs whose lease expired: back to `queued` (into the outbox) while attempts remain,
        else `failed` with `worker_lost` (refund owed)."""
        ...

    def unenqueued(self, before: datetime, limit: int) -> list[str]:
        """Queued jobs due before `before` that never reached the broker, or that no worker
        claimed for too long after it did."""
        ...

    def mark_enqueued(self, job_id: str) -> None: ...

    def refunds_due(self, before: datetime, limit: int) -> list[Job]: ...


class LeaseKeeper(Protocol):
    """Renews the leases of the attempts this worker process is running."""

    def hold(self, job_id: str, attempt: int) -> AbstractContextManager[None]: ...

    def lost(self, job_id: str, attempt: int) -> bool:
        """True once a renewal found this held attempt no longer holds its job: the worker
        abandons it and stores nothing."""
        ...


class JobDispatcher(Protocol):
    """The worker side's way to hand a job id to the workers: the sweeper re-enqueues, and a
    retry is sent with its countdown."""

    def dispatch(self, job_id: str, *, countdown: float = 0) -> None: ...


class JobAdmission(Protocol):
    """Charge a key for a job and record the job — queued, owned by the key's id, in the
    outbox — or do neither. A refused charge records nothing."""

    async def admit(self, key: str, draft: JobDraft) -> tuple[Charge, Job | None]:
        """Returns the charge and, when it passed, the recorded job: `draft` owned by the
        charged key's id."""
        ...


class JobQueue(Protocol):
    """Hands a recorded job (in the outbox) to the workers. The adapter takes it out of the
    outbox once the broker has it."""

    def accepting(self) -> bool:
        """False while the broker is known to be unreachable: submits are refused up front."""
        ...

    async def enqueue(self, job_id: str) -> None: ...

    async def ping(self) -> None: ...


class ImageGenerator(Protocol):
    """Prompt and options → image bytes. Raises domain GenerationError subclasses."""

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        """`user` is an opaque, stable, non-secret id of the end user (a hash of the key id)."""
        ...


class ImageStore(Protocol):
    """Image bytes, kept apart by attempt: an attempt that lost its job deletes only its own."""

    def put(self, job_id: str, attempt: int, index: int, image: GeneratedImage) -> StoredImage: ...

    def get(self, job_id: str, attempt: int, index: int) -> bytes | None: ...

    def delete(self, job_id: str, attempt: int) -> None: ...

    def purge(self, before: datetime, limit: int) -> int:
        """Delete the images of up to `limit` jobs stored before `before` (their job records
        have expired); returns how many jobs' images went."""
        ...


class QueuePlaces(Protocol):
    """Where queued jobs stand, and the numbers an ETA is estimated from."""

    async def place(self, job_id: str) -> QueuePlace | None:
        """Position (0 = next) and ETA of a queued job; None when it is not in the queue."""
        ...

    async def stats(self) -> QueueStats: ...


class JobDeadlines(Protocol):
    """The API's view of deadlines: jobs past theirs, ended atomically (queued → aborted,
    running → canceled, `deadline_exceeded`, refund owed)."""

    async def expire_deadlines(self, now: datetime, limit: int) -> Sequence[Job]: ...


class LedgerDeadlines(Protocol):
    """The same for the worker's sweeper (sync)."""

    def expire_deadlines(self, now: datetime, limit: int) -> list[Job]: ...
