"""The API's job cache (adapters/change_cache.py, adapters/cached_jobs.py) over an in-memory
store whose reads can be held open, so the orders that matter are played out exactly: a read
that straddles a change, a subscription that drops, another key asking, a thousand asking."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.cached_jobs import CachingJobStore, CachingQueuePlaces, JobCaches
from domain.models import ImageRequest, Job, JobStatus
from domain.queue_eta import QueuePlace, QueueStats
from tests.fakes.clock import FrozenClock
from tests.fakes.memory import MemoryJobs

pytestmark = pytest.mark.anyio
REQUEST = ImageRequest(prompt="a cat", n=1, model="placeholder")


class GatedJobs(MemoryJobs):
    """Counts reads; while `gate` is set to an unset Event, a read takes the job as it is when
    it starts and returns it only once the gate opens (a read in flight across a change)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def get(self, job_id: str, owner: str) -> Job | None:
        self.reads += 1
        seen = await super().get(job_id, owner)
        if self.gate is not None:
            await self.gate.wait()
        return seen


async def _started() -> None:
    """Let the tasks just created run up to their read (a shared read is a task of its own)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cached(*, ttl: float = 1.0) -> tuple[GatedJobs, JobCaches, CachingJobStore, Clock]:
    jobs, clock = GatedJobs(), Clock()
    caches = JobCaches(ttl=ttl, clock=clock)  # a monotonic clock stepped by hand
    caches.subscribed()
    return jobs, caches, CachingJobStore(jobs, caches.jobs), clock


def _queued(jobs: MemoryJobs, owner: str = "key_a") -> Job:
    job = Job.queued(owner=owner, request=REQUEST, now=FrozenClock().now(), ttl=timedelta(hours=1))
    jobs.jobs[job.id] = job
    return job


def _change(jobs: MemoryJobs, caches: JobCaches, job_id: str, status: JobStatus) -> Job:
    """What a Lua transition does: the new version in the store, then its notification."""
    job = jobs.jobs[job_id].evolve(status=status, version=jobs.jobs[job_id].version + 1)
    jobs.jobs[job_id] = job
    caches.job_changed(job_id, job.version, dequeued=status is not JobStatus.QUEUED)
    return job


async def test_a_poll_of_an_unchanged_job_does_not_reach_the_store() -> None:
    jobs, _, store, _ = _cached()
    job = _queued(jobs)
    assert await store.get(job.id, "key_a") == job
    assert await store.get(job.id, "key_a") == job
    assert jobs.reads == 1


async def test_a_change_notification_drops_the_cached_job() -> None:
    jobs, caches, store, _ = _cached()
    job = _queued(jobs)
    await store.get(job.id, "key_a")
    _change(jobs, caches, job.id, JobStatus.RUNNING)
    seen = await store.get(job.id, "key_a")
    assert seen is not None and seen.status is JobStatus.RUNNING
    assert jobs.reads == 2


async def test_a_read_that_started_before_a_change_is_not_kept() -> None:
    jobs, caches, store, _ = _cached()
    job = _queued(jobs)
    jobs.gate = asyncio.Event()
    stale = asyncio.create_task(store.get(job.id, "key_a"))  # reads version 1 ...
    await _started()
    _change(jobs, caches, job.id, JobStatus.RUNNING)  # ... 2 is notified meanwhile ...
    jobs.gate.set()
    assert (await stale).status is JobStatus.QUEUED  # ... and 1 comes back: answered, not kept
    jobs.gate = None
    fresh = await store.get(job.id, "key_a")
    assert fresh is not None and fresh.status is JobStatus.RUNNING
    assert jobs.reads == 2


async def test_a_read_started_before_a_change_that_already_saw_it_is_kept() -> None:
    jobs, caches, store, _ = _cached()
    job = _queued(jobs)
    _change(jobs, caches, job.id, JobStatus.RUNNING)  # the store has 2 before the read starts
    jobs.gate = asyncio.Event()
    reading = asyncio.create_task(store.get(job.id, "key_a"))
    await _started()
    caches.job_changed(job.id, 2, dequeued=True)  # its notification, late: version 2 again
    jobs.gate.set()
    assert (await reading).version == 2
    await store.get(job.id, "key_a")
    assert jobs.reads == 1  # version 2 is at least what was announced: kept


async def test_readers_woken_by_one_change_share_one_read() -> None:
    jobs, _, store, _ = _cached()
    job = _queued(jobs)
    jobs.gate = asyncio.Event()
    readers = [asyncio.create_task(store.get(job.id, "key_a")) for _ in range(1000)]
    await _started()
    jobs.gate.set()
    assert {seen.version for seen in await asyncio.gather(*readers) if seen} == {1}
    assert jobs.reads == 1


async def test_a_change_during_a_shared_read_starts_a_fresh_one_for_later_readers() -> None:
    jobs, caches, store, _ = _cached()
    job = _queued(jobs)
    jobs.gate = asyncio.Event()
    early = asyncio.create_task(store.get(job.id, "key_a"))
    await _started()
    _change(jobs, caches, job.id, JobStatus.RUNNING)
    late = asyncio.create_task(store.get(job.id, "key_a"))  # woken by that change
    await _started()
    jobs.gate.set()
    assert (await early).version == 1
    assert (await late).version == 2  # not the read that began before the change
    assert jobs.reads == 2


async def test_another_keys_request_is_not_found_even_when_cached() -> None:
    jobs, caches, store, _ = _cached()
    job = _queued(jobs, owner="key_a")
    await store.get(job.id, "key_a")
    assert await store.get(job.id, "key_b") is None
    jobs.gate = asyncio.Event()  # nor is it handed another key's read in flight
    caches.jobs.invalidate(job.id)
    mine = asyncio.create_task(store.get(job.id, "key_a"))
    theirs = asyncio.create_task(store.get(job.id, "key_b"))
    await _started()
    jobs.gate.set()
    assert (await mine) == job
    assert (await theirs) is None


async def test_a_lost_subscription_flushes_and_stops_caching_until_it_is_back() -> None:
    jobs, caches, store, _ = _cached()
    job = _queued(jobs)
    await store.get(job.id, "key_a")
    caches.unsubscribed()
    jobs.jobs[job.id] = job.evolve(status=JobStatus.RUNNING, version=2)  # unheard change
    for _ in range(3):
        seen = await store.get(job.id, "key_a")
        assert seen is not None and seen.status is JobStatus.RUNNING
    assert jobs.reads == 4  # every read went to the store while unsubscribed
    caches.subscribed()
    await store.get(job.id, "key_a")
    await store.get(job.id, "key_a")
    assert jobs.reads == 5  # cached again once back


async def test_a_read_in_flight_across_a_lost_subscription_is_not_kept() -> None:
    jobs, caches, store, _ = _cached()
    job = _queued(jobs)
    jobs.gate = asyncio.Event()
    reading = asyncio.create_task(store.get(job.id, "key_a"))
    await _started()
    caches.unsubscribed()
    caches.subscribed()
    jobs.gate.set()
    await reading
    jobs.gate = None
    await store.get(job.id, "key_a")
    assert jobs.reads == 2


async def test_a_cached_job_expires_after_the_ttl_without_any_notification() -> None:
    jobs, _, store, clock = _cached(ttl=1.0)
    job = _queued(jobs)
    await store.get(job.id, "key_a")
    clock.now += 0.5
    await store.get(job.id, "key_a")
    assert jobs.reads == 1
    clock.now += 0.6
    await store.get(job.id, "key_a")
    assert jobs.reads == 2


async def test_a_cancel_made_here_is_seen_by_the_next_read_before_its_notification() -> None:
    jobs, _, store, _ = _cached()
    job = _queued(jobs)
    await store.get(job.id, "key_a")
    canceled, did = await store.cancel(job.id, "key_a", FrozenClock().now())
    assert did and canceled is not None
    reads = jobs.reads
    seen = await store.get(job.id, "key_a")
    assert seen is not None and seen.status is JobStatus.CANCELED
    assert jobs.reads == reads  # the cancel's own answer was kept


async def test_a_refund_claimed_here_drops_the_cached_job() -> None:
    jobs, _, store, _ = _cached()
    job = _queued(jobs)
    await store.get(job.id, "key_a")
    await store.claim_refund(job.id)
    await store.get(job.id, "key_a")
    assert jobs.reads == 2


async def test_a_job_not_found_is_not_cached() -> None:
    jobs, _, store, _ = _cached()
    assert await store.get("job_soon", "key_a") is None
    job = _queued(jobs)  # a submit right after
    assert await store.get(job.id, "key_a") == job


class CountingPlaces:
    def __init__(self) -> None:
        self.position = 3
        self.reads = 0

    async def place(self, job_id: str) -> QueuePlace | None:
        self.reads += 1
        return QueuePlace(self.position, None)

    async def stats(self) -> QueueStats:
        return QueueStats((), 1)


async def test_positions_are_cached_until_any_job_leaves_the_queue() -> None:
    caches, inner = JobCaches(), CountingPlaces()
    caches.subscribed()
    places = CachingQueuePlaces(inner, caches.places)
    assert await places.place("job_a") == QueuePlace(3, None)
    assert await places.place("job_a") == QueuePlace(3, None)
    assert inner.reads == 1
    inner.position = 2
    caches.job_changed("job_ahead", 4, dequeued=True)  # the job ahead was claimed
    assert await places.place("job_a") == QueuePlace(2, None)
    caches.job_changed("job_behind", 2, dequeued=False)  # a change that moves nobody
    assert await places.place("job_a") == QueuePlace(2, None)
    assert inner.reads == 2
