"""Operator alerts fire once per threshold per refill period, on a real Valkey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from adapters.redis_alert_dedupe import RedisAlertDedupe
from domain.credit_alerts import alert_events
from domain.models import Refill, RefillInterval
from domain.webhooks import EventType
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio
DAILY = Refill(RefillInterval.DAILY, 10)


@pytest.fixture
def dedupe(async_redis: aioredis.Redis) -> RedisAlertDedupe:
    return RedisAlertDedupe(async_redis)


async def charge(
    dedupe: RedisAlertDedupe, clock: FrozenClock, before: int, after: int, refill: Refill | None
) -> list[EventType]:
    events = alert_events(
        key_id="key_a",
        plan="free",
        alerts=[0.8, 1.0],
        period_credits=10,
        before=before,
        after=after,
    )
    return [e.type for e in await dedupe.fresh(events, "key_a", refill, clock.now())]


async def test_each_threshold_fires_once_per_period_and_again_after_the_refill(
    dedupe: RedisAlertDedupe,
) -> None:
    clock = FrozenClock(datetime(2026, 1, 15, 22, 0, tzinfo=UTC))
    assert await charge(dedupe, clock, 3, 2, DAILY) == [EventType.KEY_CREDITS_LOW]
    # A refund and the same crossing again within the period: not again.
    clock.advance(minutes=30)
    assert await charge(dedupe, clock, 3, 2, DAILY) == []
    assert await charge(dedupe, clock, 1, 0, DAILY) == [EventType.KEY_CREDITS_EXHAUSTED]
    assert await charge(dedupe, clock, 1, 0, DAILY) == []
    clock.advance(hours=2)  # past midnight: the balance refilled to 10
    assert await charge(dedupe, clock, 10, 0, DAILY) == [
        EventType.KEY_CREDITS_LOW,
        EventType.KEY_CREDITS_EXHAUSTED,
    ]
    assert await charge(dedupe, clock, 10, 0, DAILY) == []


async def test_a_plan_that_never_refills_fires_once(dedupe: RedisAlertDedupe) -> None:
    clock = FrozenClock(datetime(2026, 1, 15, 22, 0, tzinfo=UTC))
    assert await charge(dedupe, clock, 3, 2, None) == [EventType.KEY_CREDITS_LOW]
    clock.advance(days=40)
    assert await charge(dedupe, clock, 3, 2, None) == []


async def test_slots_expire_after_their_period(redis_url: str, dedupe: RedisAlertDedupe) -> None:
    now = datetime.now(UTC)
    assert await dedupe.first_time("key_b", 0.8, DAILY, now)
    client = aioredis.Redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter("ig:alert:key_b:*")]
    assert len(keys) == 1
    assert 0 < await client.ttl(keys[0]) <= timedelta(days=2).total_seconds()
    await client.aclose()
