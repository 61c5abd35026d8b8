"""Every job transition bumps the job's version and announces it on the change channel in the
same atomic step, and keeps the queue ZSET (enter on submit/requeue/reclaim, leave on
start/cancel/fail) — what the API's waiters and queue positions rely on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from adapters.redis_job_changes import changes_channel
from adapters.redis_jobs import RedisJobStore, RedisJobTransitions
from adapters.redis_queue_place import QueueKeys
from domain.models import ClaimResult, ImageRequest, Job, JobError, StoredImage
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio
REQUEST = ImageRequest(prompt="a cat", n=1, model="placeholder")
BOOM = JobError("upstream_unavailable", "try later")


@pytest.fixture
def repo(async_redis: aioredis.Redis) -> RedisJobStore:
    return RedisJobStore(async_redis)


@pytest.fixture
def ledger(sync_redis: redis.Redis) -> RedisJobTransitions:
    return RedisJobTransitions(sync_redis)


@pytest.fixture
def heard(sync_redis: redis.Redis) -> Iterator[list[dict[str, object]]]:
    """The change payloads published while the test runs, read on demand."""
    pubsub = sync_redis.pubsub()
    pubsub.subscribe(changes_channel())
    confirmed = pubsub.get_message(timeout=5)
    assert confirmed is not None and confirmed["type"] == "subscribe"
    messages: list[dict[str, object]] = []

    class Heard(list[dict[str, object]]):
        def __call__(self) -> list[dict[str, object]]:
            while (message := pubsub.get_message(timeout=0.2)) is not None:
                messages.append(json.loads(message["data"]))
            return messages

    yield Heard()  # type: ignore[misc]
    pubsub.close()


def queue(sync_redis: redis.Redis) -> list[str]:
    return [m.decode() for m in sync_redis.zrange(QueueKeys().queue, 0, -1)]


async def test_submit_start_succeed(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis, heard: object
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    jobs = [Job.queued(owner="k", request=REQUEST, now=clock.now(), ttl=timedelta(hours=1))
            for _ in range(3)]  # fmt: skip
    for job in jobs:
        await repo.add(job)
    assert queue(sync_redis)[-3:] == [j.id for j in jobs]
    first = await repo.get(jobs[0].id, "k")
    assert first is not None and first.version == 1
    claim = ledger.start(jobs[0].id, clock.now(), max_attempts=3, lease_seconds=30)
    assert claim.result is ClaimResult.CLAIMED and claim.job is not None
    assert claim.job.version == 2
    assert jobs[0].id not in queue(sync_redis)
    image = [StoredImage(0, "image/png", 3, 1)]
    done = ledger.succeed(jobs[0].id, 1, image, clock.now())
    assert done is not None and done.version == 3
    mine = [c for c in heard() if c["job_id"] == jobs[0].id]  # type: ignore[operator]
    assert mine == [{"job_id": jobs[0].id, "version": 2, "dequeued": 1},
                    {"job_id": jobs[0].id, "version": 3}]  # fmt: skip


async def test_requeue_goes_to_the_back_and_fail_leaves(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis, heard: object
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    a, b = (Job.queued(owner="k", request=REQUEST, now=clock.now(), ttl=timedelta(hours=1))
            for _ in range(2))  # fmt: skip
    await repo.add(a)
    await repo.add(b)
    ledger.start(a.id, clock.now(), max_attempts=3, lease_seconds=30)
    requeued = ledger.requeue(a.id, 1, BOOM, due=clock.now())
    assert requeued is not None and requeued.version == 3
    assert queue(sync_redis)[-2:] == [b.id, a.id]
    failed = ledger.fail(b.id, None, BOOM, clock.now())
    assert failed is not None and failed.version == 2
    assert b.id not in queue(sync_redis)
    assert {"job_id": b.id, "version": 2, "dequeued": 1} in heard()  # type: ignore[operator]


async def test_cancel_and_refund_announce(
    repo: RedisJobStore, sync_redis: redis.Redis, heard: object
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = Job.queued(owner="k", request=REQUEST, now=clock.now(), ttl=timedelta(hours=1))
    await repo.add(job)
    canceled, changed = await repo.cancel(job.id, "k", clock.now())
    assert changed and canceled is not None and canceled.version == 2
    assert job.id not in queue(sync_redis)
    assert await repo.claim_refund(job.id) == 1
    after = await repo.get(job.id, "k")
    assert after is not None and after.version == 3 and after.refunded == 1
    versions = [c["version"] for c in heard() if c["job_id"] == job.id]  # type: ignore[operator]
    assert versions == [2, 3]


async def test_reclaim_requeues_into_the_queue(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = Job.queued(owner="k", request=REQUEST, now=clock.now(), ttl=timedelta(hours=1))
    await repo.add(job)
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=1)
    assert job.id not in queue(sync_redis)
    reclaimed = ledger.reclaim_expired(clock.now() + timedelta(seconds=2), max_attempts=3, limit=10)
    assert [j.id for j in reclaimed] == [job.id] and reclaimed[0].version == 3
    assert job.id in queue(sync_redis)


async def test_deadlines_abort_queued_cancel_running_and_skip_ended(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    deadline = clock.now() + timedelta(seconds=5)
    queued, running, done = (
        Job.queued(owner="k", request=REQUEST, now=clock.now(), ttl=timedelta(hours=1)).evolve(
            deadline_at=deadline
        )
        for _ in range(3)
    )
    for job in (queued, running, done):
        await repo.add(job)
    ledger.start(running.id, clock.now(), max_attempts=3, lease_seconds=30)
    ledger.start(done.id, clock.now(), max_attempts=3, lease_seconds=30)
    ledger.succeed(done.id, 1, [], clock.now())
    assert await repo.expire_deadlines(clock.now(), 10) == []  # not yet
    ended = await repo.expire_deadlines(deadline, 10)
    assert {j.id: j.status.value for j in ended} == {queued.id: "aborted", running.id: "canceled"}
    assert all(j.error is not None and j.error.code == "deadline_exceeded" for j in ended)
    assert queued.id not in queue(sync_redis)
    assert ledger.succeed(running.id, 1, [], clock.now()) is None  # the attempt lost the job
    assert ledger.refunds_due(deadline, 10)  # both refunds are owed
    assert await repo.claim_refund(queued.id) == 1


async def test_cancel_of_a_running_job_fences_its_attempt_and_renewal_reports_it_lost(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = Job.queued(owner="k", request=REQUEST, now=clock.now(), ttl=timedelta(hours=1))
    other = Job.queued(owner="k", request=REQUEST, now=clock.now(), ttl=timedelta(hours=1))
    for each in (job, other):
        await repo.add(each)
        ledger.start(each.id, clock.now(), max_attempts=3, lease_seconds=30)
    canceled, changed = await repo.cancel(job.id, "k", clock.now())
    assert changed and canceled is not None and canceled.status.value == "canceled"
    assert sync_redis.zscore("ig:leases", job.id) is None
    assert ledger.renew([(job.id, 1), (other.id, 1)], clock.now(), 30) == [(job.id, 1)]
    assert ledger.succeed(job.id, 1, [StoredImage(0, "image/png", 3, 1)], clock.now()) is None
    assert (await repo.cancel(job.id, "k", clock.now()))[1] is False  # a second cancel: no-op
    assert await repo.claim_refund(job.id) == 1
    assert await repo.claim_refund(job.id) == 0
