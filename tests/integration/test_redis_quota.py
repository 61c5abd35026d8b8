"""What is particular to the Redis quota store (the shared behaviour is in
tests/contract/test_quota_provider.py): storage layout, round trips, the worker's refunder."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.retry import Retry as SyncRetry

from adapters.quota_keys import key_digest
from adapters.redis_ops_quota import QuotaLayout
from adapters.redis_quota import RedisCreditRefunder, RedisQuotaProvider
from domain.errors import QuotaUnavailable
from domain.models import KeyStatus, Plan, RefillInterval
from tests.fakes.clock import FrozenClock
from tests.ports import free_port

pytestmark = pytest.mark.anyio

DAILY = Plan.build(10, RefillInterval.DAILY, 10)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 31, 12, tzinfo=UTC))


@pytest.fixture
def quota(async_redis: redis.asyncio.Redis, clock: FrozenClock) -> RedisQuotaProvider:
    return RedisQuotaProvider(async_redis, clock)


def everything_stored(sync_redis: redis.Redis) -> str:
    dump = []
    for name in sync_redis.scan_iter():
        kind = sync_redis.type(name)
        read = {b"hash": sync_redis.hgetall, b"zset": lambda n: sync_redis.zrange(n, 0, -1)}
        read[b"stream"] = lambda n: sync_redis.xrange(n)
        value = read.get(kind, sync_redis.get)(name)
        dump.append(f"{name!r}={value!r}")
    return "\n".join(dump)


async def test_only_the_keys_sha256_is_stored(quota: RedisQuotaProvider, sync_redis: redis.Redis):
    issued = await quota.mint(DAILY)
    await quota.charge(issued.key, 1)

    stored = everything_stored(sync_redis)

    assert issued.key not in stored
    assert key_digest(issued.key) in stored and issued.key_id in stored
    record, ledger = f"ig:quota:key:{key_digest(issued.key)}", f"ig:quota:ledger:{issued.key_id}"
    listings = ["ig:quota:keys:seq", "ig:quota:keys", "ig:quota:keys:plan:default"]
    assert sorted(sync_redis.scan_iter()) == sorted(
        name.encode() for name in [record, f"ig:quota:id:{issued.key_id}", ledger, *listings]
    )


async def test_a_charge_is_one_round_trip(quota: RedisQuotaProvider, sync_redis: redis.Redis):
    issued = await quota.mint(DAILY)
    await quota.charge(issued.key, 1)  # loads the script
    sync_redis.config_resetstat()

    await quota.charge(issued.key, 1)

    calls = {name: value["calls"] for name, value in sync_redis.info("commandstats").items()}
    assert calls["cmdstat_evalsha"] == 1
    # Everything else ran inside that script (or is this test's own bookkeeping).
    inside = {"cmdstat_hmget", "cmdstat_hset", "cmdstat_hincrby", "cmdstat_xrevrange"}
    inside |= {"cmdstat_xadd", "cmdstat_expire"}  # the charge's ledger entry
    assert set(calls) <= {"cmdstat_evalsha", "cmdstat_info", "cmdstat_config|resetstat", *inside}


async def test_charging_survives_a_flushed_script_cache(
    quota: RedisQuotaProvider, sync_redis: redis.Redis
):
    issued = await quota.mint(DAILY)
    await quota.charge(issued.key, 1)
    sync_redis.script_flush()

    charge = await quota.charge(issued.key, 1)

    assert (charge.status, charge.remaining) == (KeyStatus.VALID, 8)


async def test_another_process_applies_each_keys_own_refill_setting(
    async_redis: redis.asyncio.Redis, quota: RedisQuotaProvider, clock: FrozenClock
):
    monthly = await quota.mint(Plan.build(10, RefillInterval.MONTHLY, 10, day=31))
    daily = await quota.mint(Plan.build(10, RefillInterval.DAILY, 10))
    for key in (monthly.key, daily.key):
        await quota.charge(key, 10)
    other = RedisQuotaProvider(async_redis, clock)  # knows neither key's setting

    clock.set(datetime(2026, 2, 1, 9, tzinfo=UTC))
    daily_after = await other.charge(daily.key, 0)
    monthly_after = await other.charge(monthly.key, 0)
    clock.set(datetime(2026, 2, 28, tzinfo=UTC))
    monthly_on_last_day = await other.charge(monthly.key, 0)

    assert daily_after.remaining == 10
    assert monthly_after.remaining == 0
    assert monthly_on_last_day.remaining == 10


async def test_key_prefixes_keep_stores_apart(async_redis: redis.asyncio.Redis, clock: FrozenClock):
    ours = RedisQuotaProvider(async_redis, clock, QuotaLayout("one"))
    theirs = RedisQuotaProvider(async_redis, clock, QuotaLayout("two"))

    issued = await ours.mint(DAILY)

    assert (await theirs.charge(issued.key, 0)).status is KeyStatus.NOT_FOUND
    assert (await ours.charge(issued.key, 0)).status is KeyStatus.VALID


async def test_the_workers_refunder_shares_the_layout(
    quota: RedisQuotaProvider, sync_redis: redis.Redis
):
    issued = await quota.mint(DAILY)
    await quota.charge(issued.key, 10)
    refunder = RedisCreditRefunder(sync_redis)

    refunder.refund(issued.key_id, 3)
    refunder.refund("key_unknown", 3)  # skipped, not raised

    assert (await quota.charge(issued.key, 0)).remaining == 3


async def test_an_unreachable_store_fails_closed(clock: FrozenClock):
    options = {"port": free_port(), "socket_connect_timeout": 1, "retry": Retry(NoBackoff(), 0)}
    client = redis.asyncio.Redis(**options)
    quota = RedisQuotaProvider(client, clock)

    with pytest.raises(QuotaUnavailable):
        await quota.charge("ig_anything", 1)
    with pytest.raises(QuotaUnavailable):
        await quota.mint(DAILY)
    await client.aclose()

    sync_options = options | {"retry": SyncRetry(NoBackoff(), 0)}
    refunder = RedisCreditRefunder(redis.Redis(**sync_options))
    with pytest.raises(QuotaUnavailable):
        refunder.refund("key_any", 1)


async def test_a_negative_cost_is_a_programming_error(quota: RedisQuotaProvider):
    issued = await quota.mint(DAILY)

    with pytest.raises(ValueError, match="cost"):
        await quota.charge(issued.key, -1)
