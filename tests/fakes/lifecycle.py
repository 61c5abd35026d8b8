"""In-memory fakes of the lifecycle ports: the change hub and queue places."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from domain.errors import TooManyWaiters
from domain.job_changes import Wake
from domain.key_limits import KeySlots
from domain.models import JobStatus
from domain.queue_eta import QueuePlace, QueueStats
from tests.fakes.memory import MemoryJobs


class MemoryChanges:
    """The JobChanges port in process: `notify` wakes a job's waiters, as the Redis hub does
    on a published change. Honours the per-key waiter cap."""

    def __init__(self, max_waiters_per_key: int = 5_000) -> None:
        self._slots = KeySlots(max_waiters_per_key, TooManyWaiters)
        self._waiters: dict[str, set[_MemoryWaiter]] = {}

    @property
    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def notify(self, job_id: str, version: int | None = None) -> None:
        for waiter in self._waiters.get(job_id, ()):
            waiter.pending = Wake(version)
            waiter.event.set()

    @asynccontextmanager
    async def waiter(self, job_id: str, key_id: str) -> AsyncIterator[_MemoryWaiter]:
        with self._slots.hold(key_id):
            waiter = _MemoryWaiter()
            self._waiters.setdefault(job_id, set()).add(waiter)
            try:
                yield waiter
            finally:
                self._waiters[job_id].discard(waiter)


class _MemoryWaiter:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.pending: Wake | None = None

    def watch_queue(self, on: bool) -> None:
        return None

    async def changed(self, within: float | None) -> Wake | None:
        try:
            await asyncio.wait_for(self.event.wait(), within)
        except TimeoutError:
            return None
        self.event.clear()
        wake, self.pending = self.pending, None
        return wake


class MemoryQueuePlaces:
    """Queue places over MemoryJobs: queued jobs in creation order; no ETA (no run times)."""

    def __init__(self, jobs: MemoryJobs) -> None:
        self._jobs = jobs

    async def place(self, job_id: str) -> QueuePlace | None:
        queued = sorted(
            (j for j in self._jobs.jobs.values() if j.status is JobStatus.QUEUED),
            key=lambda j: j.created_at,
        )
        ids = [j.id for j in queued]
        return QueuePlace(ids.index(job_id), None) if job_id in ids else None

    async def stats(self) -> QueueStats:
        return QueueStats((), 0)
