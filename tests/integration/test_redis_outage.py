"""With the store down, the API's Redis adapters raise the domain's errors, never redis-py's:
the HTTP edge maps only domain errors (a `redis` exception there would be a 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.redis_idempotency import RedisIdempotencyStore
from adapters.redis_jobs import RedisJobStore
from adapters.redis_rate_limit import RedisRateLimiter
from domain.errors import StoreUnavailable
from domain.models import ImageRequest, Job
from tests.e2e.stack import free_port

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)


@pytest.fixture
async def gone() -> AsyncIterator[redis.asyncio.Redis]:
    """A client of a port nothing listens on: every command is refused at once (no retries)."""
    client = redis.asyncio.Redis(
        port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    yield client
    await client.aclose()


async def test_the_job_store_is_unavailable_in_every_call(gone: redis.asyncio.Redis) -> None:
    jobs = RedisJobStore(gone)
    job = Job.queued(owner="key_a", request=ImageRequest(prompt="p"), now=NOW, ttl=timedelta(1))
    with pytest.raises(StoreUnavailable):
        await jobs.add(job)
    with pytest.raises(StoreUnavailable):
        await jobs.get(job.id, "key_a")  # a script (the runner)
    with pytest.raises(StoreUnavailable):
        await jobs.list("key_a", limit=10, cursor=None)  # plain commands
    with pytest.raises(StoreUnavailable):
        await jobs.remove(job)
    with pytest.raises(StoreUnavailable):
        await jobs.ping()


async def test_idempotency_and_rate_limits_are_unavailable(gone: redis.asyncio.Redis) -> None:
    idempotency = RedisIdempotencyStore(gone)
    with pytest.raises(StoreUnavailable):
        await idempotency.begin("key_a", "k1", "fingerprint")
    with pytest.raises(StoreUnavailable):
        await idempotency.abandon("key_a", "k1")
    with pytest.raises(StoreUnavailable):
        await RedisRateLimiter(gone).hit("submit", [("key_a", 5)], 60)
