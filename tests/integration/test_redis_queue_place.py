"""Queue positions and the ETA's inputs, on a real Valkey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from adapters.redis_queue_place import (
    RECENT_RUNS,
    QueueKeys,
    RedisQueuePlaces,
    publish_worker_capacity,
)
from domain.queue_eta import QueuePlace
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC))


@pytest.fixture
def places(async_redis: aioredis.Redis, clock: FrozenClock) -> RedisQueuePlaces:
    return RedisQueuePlaces(async_redis, clock, stats_ttl=0)


async def test_positions_follow_submit_order_and_close_up(places: RedisQueuePlaces) -> None:
    ids = [f"job_{n}" for n in range(5)]
    seqs = [await places.enter(job_id) for job_id in ids]
    assert seqs == sorted(seqs)
    assert [await places.position(job_id) for job_id in ids] == [0, 1, 2, 3, 4]
    assert await places.enter("job_2") == seqs[2]  # already queued: keeps its place
    assert await places.leave("job_0")  # claimed
    assert await places.leave("job_3")  # canceled from the middle
    assert not await places.leave("job_3")
    assert [await places.position(job_id) for job_id in ids] == [None, 0, 1, None, 2]
    await places.enter("job_0")  # back from a retry: the back of the line
    assert await places.position("job_0") == 3
    assert await places.length() == 4


def record_run_seconds(client: redis.Redis, seconds: float) -> None:
    """A finished run's sample, as the worker's succeed step pushes it (job_succeed.lua)."""
    client.lpush(QueueKeys().run_seconds, f"{seconds:.3f}")


async def test_the_estimate_uses_recent_runs_and_live_capacity(
    places: RedisQueuePlaces, sync_redis: redis.Redis, clock: FrozenClock
) -> None:
    for job_id in ("job_a", "job_b", "job_c"):
        await places.enter(job_id)
    assert await places.place("job_c") == QueuePlace(position=2, eta_seconds=None)  # no data
    assert await places.place("job_unknown") is None

    for seconds in (3.0, 5.0, 4.0):
        record_run_seconds(sync_redis, seconds)
    now = clock.now()
    publish_worker_capacity(sync_redis, "w1", 2, now=now, ttl=timedelta(seconds=30))
    publish_worker_capacity(sync_redis, "w2", 1, now=now, ttl=timedelta(seconds=5))
    stats = await places.stats()
    assert (stats.capacity, stats.typical_run_seconds) == (3, 4.0)
    assert await places.place("job_c") == QueuePlace(position=2, eta_seconds=4)

    clock.advance(seconds=10)  # w2 missed its heartbeat: it no longer counts
    assert (await places.stats()).capacity == 2
    assert await places.place("job_c") == QueuePlace(position=2, eta_seconds=8)
    assert sync_redis.hkeys(places.keys.workers) == [b"w1"]


async def test_only_the_recent_runs_count(
    places: RedisQueuePlaces, sync_redis: redis.Redis
) -> None:
    for n in range(RECENT_RUNS + 20):
        record_run_seconds(sync_redis, float(n))
    stats = await places.stats()
    assert len(stats.recent_run_seconds) == RECENT_RUNS
    assert stats.recent_run_seconds[0] == RECENT_RUNS + 19  # newest first


async def test_stats_are_cached_for_their_ttl(
    redis_url: str, sync_redis: redis.Redis, clock: FrozenClock
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        cached = RedisQueuePlaces(client, clock, stats_ttl=60)
        assert (await cached.stats()).recent_run_seconds == ()
        record_run_seconds(sync_redis, 2.0)
        assert (await cached.stats()).recent_run_seconds == ()  # still the cached answer
        fresh = RedisQueuePlaces(client, clock, stats_ttl=0)
        assert (await fresh.stats()).recent_run_seconds == (2.0,)
    finally:
        await client.aclose()


async def test_prune_drops_entries_whose_job_is_not_queued(
    places: RedisQueuePlaces, sync_redis: redis.Redis
) -> None:
    for job_id, status in (("job_a", "queued"), ("job_b", "running"), ("job_c", None)):
        await places.enter(job_id)
        if status:
            sync_redis.hset(f"ig:job:{job_id}", "status", status)
    assert await places.prune() == 2
    assert await places.position("job_a") == 0
    assert await places.length() == 1


async def test_a_malformed_worker_entry_is_dropped(
    places: RedisQueuePlaces, sync_redis: redis.Redis
) -> None:
    sync_redis.hset(places.keys.workers, "w_bad", "lots")
    assert (await places.stats()).capacity == 0
    assert not sync_redis.hexists(places.keys.workers, "w_bad")
