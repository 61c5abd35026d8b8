"""Charge-and-record in one script (the local quota store): the job it records is the job the
two-step path records, a refused charge records nothing, and a wrong refill belief is retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio

from adapters.redis_admission import RedisJobAdmission
from adapters.redis_jobs import RedisJobStore, RedisJobTransitions
from adapters.redis_quota import RedisQuotaProvider
from domain.admission import ChargeThenRecord
from domain.models import ImageRequest, Job, JobDraft, JobStatus, KeyStatus, Plan, RefillInterval
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)
REQUEST = ImageRequest(prompt="a lighthouse", n=3, model="placeholder")


def draft(request: ImageRequest = REQUEST) -> JobDraft:
    return JobDraft.new(request=request, now=NOW, ttl=timedelta(days=3650), request_id="req-1")


@pytest.fixture
def quota(async_redis: redis.asyncio.Redis) -> RedisQuotaProvider:
    return RedisQuotaProvider(async_redis, FrozenClock(NOW))


@pytest.fixture
def admission(async_redis: redis.asyncio.Redis) -> RedisJobAdmission:
    return RedisJobAdmission(async_redis, FrozenClock(NOW))


def stored(sync_redis: redis.Redis, job: Job) -> dict[bytes, bytes]:
    return dict(sync_redis.hgetall(f"ig:job:{job.id}"))


async def test_admitted_job_is_stored_exactly_as_the_two_step_path_stores_it(
    async_redis: redis.asyncio.Redis,
    admission: RedisJobAdmission,
    quota: RedisQuotaProvider,
    sync_redis: redis.Redis,
) -> None:
    issued = await quota.mint(Plan.build(10, RefillInterval.DAILY, 10))
    charge, admitted = await admission.admit(issued.key, draft())
    assert charge.status is KeyStatus.VALID and charge.remaining == 7
    assert admitted is not None and admitted.owner == issued.key_id
    two_step = ChargeThenRecord(quota, RedisJobStore(async_redis))
    _, recorded = await two_step.admit(issued.key, draft())
    assert recorded is not None
    ours, theirs = stored(sync_redis, admitted), stored(sync_redis, recorded)
    assert ours.pop(b"id") != theirs.pop(b"id")
    assert ours == theirs
    assert RedisJobTransitions(sync_redis).get(admitted.id) == admitted
    assert sync_redis.zscore("ig:outbox", admitted.id) is not None  # swept if never published
    index = sync_redis.zrange(f"ig:jobs:{issued.key_id}", 0, -1)
    assert len(index) == 2
    assert sync_redis.ttl(f"ig:job:{admitted.id}") > 0


async def test_a_refused_charge_records_nothing(
    admission: RedisJobAdmission, quota: RedisQuotaProvider, sync_redis: redis.Redis
) -> None:
    issued = await quota.mint(Plan.build(2, RefillInterval.NONE, 1))
    charge, job = await admission.admit(issued.key, draft())
    assert charge.status is KeyStatus.USAGE_EXCEEDED and charge.remaining == 2
    assert job is None
    assert sync_redis.keys("ig:job:*") == []
    assert sync_redis.zcard("ig:outbox") == 0
    unknown, nothing = await admission.admit("ig_nope", draft())
    assert unknown.status is KeyStatus.NOT_FOUND and nothing is None


async def test_a_key_on_another_refill_setting_is_charged_once(
    async_redis: redis.asyncio.Redis, admission: RedisJobAdmission, sync_redis: redis.Redis
) -> None:
    minting = RedisQuotaProvider(async_redis, FrozenClock(NOW))
    issued = await minting.mint(Plan.build(10, RefillInterval.MONTHLY, 10, day=15))
    fresh = RedisQuotaProvider(async_redis, FrozenClock(NOW))  # believes nothing about the key yet
    await fresh.mint(Plan.build(10, RefillInterval.DAILY, 10))  # now believes "daily"
    charge, job = await admission.admit(issued.key, draft())
    assert charge.remaining == 7
    assert job is not None and job.status is JobStatus.QUEUED
    assert len(sync_redis.keys("ig:job:*")) == 1
