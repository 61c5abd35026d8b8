"""The API-side Redis adapters answer a store outage as the domain's StoreUnavailable (a 503
at the edge), never with redis-py's own exceptions (a 500). Nothing listens on the port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.redis_ledger import RedisCreditLedger
from adapters.redis_queue_place import RedisQueuePlaces
from adapters.redis_webhook_log import AsyncRedisWebhookLog
from domain.errors import StoreUnavailable
from domain.webhook_log import Delivery
from tests.fakes.clock import FrozenClock
from tests.ports import free_port

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def down() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(
        port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    yield client
    await client.aclose()


def _delivery() -> Delivery:
    return Delivery.new(
        subject_id="job_1", event="job.succeeded", url="https://hooks.example.com/in",
        signer="key_a", body=b"{}", now=NOW,
    )  # fmt: skip


CALLS: dict[str, Callable[[aioredis.Redis], Awaitable[Any]]] = {
    "places.place": lambda r: RedisQueuePlaces(r, FrozenClock(NOW)).place("job_1"),
    "places.stats": lambda r: RedisQueuePlaces(r, FrozenClock(NOW), stats_ttl=0).stats(),
    "places.enter": lambda r: RedisQueuePlaces(r, FrozenClock(NOW)).enter("job_1"),
    "places.leave": lambda r: RedisQueuePlaces(r, FrozenClock(NOW)).leave("job_1"),
    "places.length": lambda r: RedisQueuePlaces(r, FrozenClock(NOW)).length(),
    "places.prune": lambda r: RedisQueuePlaces(r, FrozenClock(NOW)).prune(),
    "webhooks.add": lambda r: AsyncRedisWebhookLog(r, ttl=timedelta(hours=1)).add(_delivery()),
    "webhooks.deliveries": lambda r: AsyncRedisWebhookLog(r, ttl=timedelta(hours=1)).deliveries(
        "job_1"
    ),
    "webhooks.redeliver": lambda r: AsyncRedisWebhookLog(r, ttl=timedelta(hours=1)).redeliver(
        "job_1", "msg_1", NOW
    ),
    "ledger.page": lambda r: RedisCreditLedger(r).page("key_1", cursor=None, limit=10),
    "ledger.between": lambda r: RedisCreditLedger(r).between("key_1", None, None),
}


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_an_outage_is_store_unavailable(down: aioredis.Redis, call: str) -> None:
    with pytest.raises(StoreUnavailable):
        await CALLS[call](down)
