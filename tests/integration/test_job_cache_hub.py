"""The job cache fed by the real change hub on Valkey: a transition's notification drops the
cached job, and a killed subscription flushes the cache and turns it off until it is back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from adapters import redis_ops_jobs as ops
from adapters.cached_jobs import CachingJobStore, JobCaches
from adapters.redis_job_changes import RedisJobChanges
from adapters.redis_jobs import RedisJobStore
from adapters.redis_jobs_codec import JobKeys
from adapters.redis_ops import AsyncRunner
from adapters.redis_pool import subscriber_client
from domain.models import ImageRequest, Job, JobStatus
from tests.integration.lifecycle_support import eventually

pytestmark = pytest.mark.anyio
REQUEST = ImageRequest(prompt="a cat", n=1, model="placeholder")


class RecordingCaches(JobCaches):
    def __init__(self) -> None:
        super().__init__(ttl=60)  # long: only notifications and the flush may drop a job
        self.told: list[str] = []

    def subscribed(self) -> None:
        self.told.append("subscribed")
        super().subscribed()

    def unsubscribed(self) -> None:
        self.told.append("unsubscribed")
        super().unsubscribed()


class CountingStore(RedisJobStore):
    def __init__(self, client: aioredis.Redis) -> None:
        super().__init__(client)
        self.reads = 0

    async def get(self, job_id: str, owner: str) -> Job | None:
        self.reads += 1
        return await super().get(job_id, owner)


async def test_a_transition_drops_the_cached_job_and_a_lost_subscription_flushes_it(
    redis_url: str, sync_redis: redis.Redis
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    subscriber = subscriber_client(redis_url)
    caches = RecordingCaches()
    hub = RedisJobChanges(subscriber, listeners=[caches], backoff_base=0.05)
    await hub.start()
    inner = CountingStore(client)
    store = CachingJobStore(inner, caches.jobs)
    try:
        job = Job.queued(owner="key_a", request=REQUEST, now=datetime.now(UTC),
                         ttl=timedelta(hours=1))  # fmt: skip
        await inner.add(job)
        assert (await store.get(job.id, "key_a")) == job
        assert (await store.get(job.id, "key_a")) == job
        assert inner.reads == 1
        # A worker's claim, in Lua, publishes the change; the hub drops the cached job before
        # it wakes the job's waiters, so a woken waiter reads the new state.
        async with hub.waiter(job.id, "key_a") as waiter:
            claim = await AsyncRunner(client).run(
                ops.start(JobKeys("ig"), job.id, datetime.now(UTC), max_attempts=3,
                          lease_seconds=60)
            )  # fmt: skip
            assert claim.job is not None
            assert await waiter.changed(5) is not None
            seen = await store.get(job.id, "key_a")
        assert seen is not None and seen.status is JobStatus.RUNNING
        assert inner.reads == 2
        # The subscription dies: the cache is flushed and off until it is back.
        assert sync_redis.client_kill_filter(_type="pubsub") == 1
        await eventually(lambda: hub.subscriptions == 2 and caches.jobs.active)
        assert caches.told == ["subscribed", "unsubscribed", "subscribed"]
        reads = inner.reads
        await store.get(job.id, "key_a")
        assert inner.reads == reads + 1  # flushed: read afresh after resubscribing
    finally:
        await hub.aclose()
        await subscriber.aclose()
        await client.aclose()
