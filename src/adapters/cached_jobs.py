"""The API's job reads through an in-process cache (adapters/change_cache.py) that the change
hub keeps honest: `JobCaches` is the hub's listener, `CachingJobStore` and
`CachingQueuePlaces` wrap the real ports.

A cached job is served only to its owner (the owner is checked on every hit, as the store
does). A job this process changes itself (cancel, refund claims) is refreshed or dropped as
soon as the call returns, so its caller's next read never sees the job as it was before its
own write, even when the notification of that write has not arrived yet. Positions in the
queue are cached per job and all dropped whenever any job leaves the queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from adapters.change_cache import DEFAULT_MAX_ENTRIES, DEFAULT_TTL_SECONDS, ChangeCache
from domain.models import Job
from domain.ports import JobStore, QueuePlaces
from domain.queue_eta import QueuePlace, QueueStats


def _job_version(job: Job) -> int:
    return job.version


def _unversioned(_: QueuePlace) -> None:
    return None


class JobCaches:
    """The caches of one API process, and what the change hub tells them
    (`adapters.redis_job_changes.ChangeListener`)."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        bounds = {"ttl": ttl, "max_entries": max_entries, "clock": clock}
        self.jobs: ChangeCache[Job] = ChangeCache(_job_version, **bounds)  # type: ignore[arg-type]
        self.places: ChangeCache[QueuePlace] = ChangeCache(_unversioned, **bounds)  # type: ignore[arg-type]

    def job_changed(self, job_id: str, version: int, dequeued: bool) -> None:
        self.jobs.invalidate(job_id, version)
        self.places.invalidate(job_id)
        if dequeued:  # every job behind it moved up one place
            self.places.clear()

    def subscribed(self) -> None:
        self.jobs.resume()
        self.places.resume()

    def unsubscribed(self) -> None:
        self.jobs.suspend()
        self.places.suspend()


class CachingJobStore:
    """A `JobStore` whose `get` is served from the cache when it can be."""

    def __init__(self, inner: JobStore, cache: ChangeCache[Job]) -> None:
        self._inner = inner
        self._cache = cache

    async def get(self, job_id: str, owner: str) -> Job | None:
        return await self._cache.get(
            job_id,
            lambda: self._inner.get(job_id, owner),
            tag=owner,
            accept=lambda job: job.owner == owner,
        )

    async def cancel(self, job_id: str, owner: str, now: datetime) -> tuple[Job | None, bool]:
        ticket = self._cache.ticket()
        try:
            job, canceled = await self._inner.cancel(job_id, owner, now)
        except BaseException:
            self._cache.invalidate(job_id)  # it may have happened: read it afresh
            raise
        if job is None or not self._cache.store(job_id, job, ticket):
            self._cache.invalidate(job_id)
        return job, canceled

    async def withdraw(self, job_id: str, now: datetime) -> Job | None:
        try:
            return await self._inner.withdraw(job_id, now)
        finally:
            self._cache.invalidate(job_id)

    async def claim_refund(self, job_id: str) -> int:
        try:
            return await self._inner.claim_refund(job_id)
        finally:
            self._cache.invalidate(job_id)

    async def release_refund(self, job_id: str) -> None:
        try:
            await self._inner.release_refund(job_id)
        finally:
            self._cache.invalidate(job_id)

    async def remove(self, job: Job) -> None:
        try:
            await self._inner.remove(job)
        finally:
            self._cache.invalidate(job.id)

    async def add(self, job: Job) -> None:
        await self._inner.add(job)

    async def list(
        self, owner: str, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Job], str | None]:
        return await self._inner.list(owner, limit=limit, cursor=cursor)

    async def ping(self) -> None:
        await self._inner.ping()


class CachingQueuePlaces:
    """`QueuePlaces` whose positions are served from the cache when they can be."""

    def __init__(self, inner: QueuePlaces, cache: ChangeCache[QueuePlace]) -> None:
        self._inner = inner
        self._cache = cache

    async def place(self, job_id: str) -> QueuePlace | None:
        return await self._cache.get(job_id, lambda: self._inner.place(job_id))

    async def stats(self) -> QueueStats:
        return await self._inner.stats()
