"""The Redis job repository and ledger against a real Valkey, attempt fencing included. Clocks
start at the real now: job hashes expire by Redis' own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from adapters.redis_jobs import RedisJobStore, RedisJobTransitions
from adapters.redis_queue_place import RECENT_RUNS
from domain.errors import InvalidCursor
from domain.models import ClaimResult, ImageRequest, Job, JobError, JobStatus, StoredImage
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio
REQUEST = ImageRequest(prompt="a cat", n=2, model="placeholder")


@pytest.fixture
def repo(async_redis: aioredis.Redis) -> RedisJobStore:
    return RedisJobStore(async_redis)


@pytest.fixture
def ledger(sync_redis: redis.Redis) -> RedisJobTransitions:
    return RedisJobTransitions(sync_redis)


def new_job(clock: FrozenClock, owner: str = "key_a") -> Job:
    return Job.queued(owner=owner, request=REQUEST, now=clock.now(), ttl=timedelta(hours=1))


async def test_round_trip_and_owner_scope(repo: RedisJobStore) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    assert await repo.get(job.id, "key_a") == job
    assert await repo.get(job.id, "key_b") is None
    assert await repo.get("job_missing", "key_a") is None


async def test_list_newest_first_with_cursor(repo: RedisJobStore) -> None:
    clock = FrozenClock(datetime.now(UTC))
    ids = []
    for _ in range(5):
        job = new_job(clock)
        ids.append(job.id)
        await repo.add(job)
        clock.advance(seconds=1)
    await repo.add(new_job(clock, owner="key_other"))
    first, cursor = await repo.list("key_a", limit=2, cursor=None)
    assert [j.id for j in first] == ids[::-1][:2]
    assert cursor is not None
    second, cursor = await repo.list("key_a", limit=2, cursor=cursor)
    third, last = await repo.list("key_a", limit=2, cursor=cursor)
    assert [j.id for j in second + third] == ids[::-1][2:]  # type: ignore[operator]
    assert last is None
    with pytest.raises(InvalidCursor) as caught:
        await repo.list("key_a", limit=2, cursor="!!not-a-cursor")
    assert caught.value.field == "cursor"


async def test_cancel_only_queued_and_refund_once(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    assert await repo.cancel(job.id, "key_b", clock.now()) == (None, False)
    canceled, changed = await repo.cancel(job.id, "key_a", clock.now())
    assert changed
    assert canceled is not None
    assert canceled.status is JobStatus.CANCELED
    assert (await repo.cancel(job.id, "key_a", clock.now()))[1] is False
    assert [j.id for j in ledger.refunds_due(clock.now(), 10)] == [job.id]
    assert await repo.claim_refund(job.id) == 2
    assert await repo.claim_refund(job.id) == 0
    assert ledger.refunds_due(clock.now() + timedelta(days=1), 10) == []
    claim = ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    assert claim.result is ClaimResult.FINISHED


async def test_withdraw_ends_a_job_whoever_owns_it_once_with_its_refund_owed(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    assert await repo.withdraw("job_never_recorded", clock.now()) is None
    withdrawn = await repo.withdraw(job.id, clock.now())
    assert withdrawn is not None and withdrawn.status is JobStatus.CANCELED
    assert withdrawn.error is not None and withdrawn.error.code == "canceled"
    assert await repo.withdraw(job.id, clock.now()) is None  # over already
    assert [j.id for j in ledger.refunds_due(clock.now(), 10)] == [job.id]
    assert await repo.claim_refund(job.id) == 2
    claim = ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    assert claim.result is ClaimResult.FINISHED  # a worker that gets its message skips it


async def test_claim_is_exclusive_while_the_lease_lives(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    first = ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    assert first.result is ClaimResult.CLAIMED
    assert first.job is not None
    assert first.job.attempts == 1
    assert ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30).result is (
        ClaimResult.BUSY
    )
    clock.advance(seconds=20)
    ledger.renew([(job.id, 1)], clock.now(), 30)
    clock.advance(seconds=20)  # 40 s after the claim, but renewed at 20 s
    assert ledger.reclaim_expired(clock.now(), max_attempts=3, limit=10) == []
    clock.advance(seconds=11)
    reclaimed = ledger.reclaim_expired(clock.now(), max_attempts=3, limit=10)
    assert [(j.id, j.status) for j in reclaimed] == [(job.id, JobStatus.QUEUED)]
    assert ledger.unenqueued(clock.now(), 10) == [job.id]
    ledger.mark_enqueued(job.id)
    assert ledger.unenqueued(clock.now(), 10) == []
    # Unclaimed ten minutes after the broker took it: a crashed worker may have had it.
    assert ledger.unenqueued(clock.now() + timedelta(seconds=601), 10) == [job.id]
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    ledger.mark_enqueued(job.id)  # a late mark must not put a claimed job back
    assert ledger.unenqueued(clock.now() + timedelta(days=1), 10) == []


async def test_lost_workers_exhaust_attempts_into_worker_lost(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    for _ in range(2):
        assert ledger.start(job.id, clock.now(), max_attempts=2, lease_seconds=5).result is (
            ClaimResult.CLAIMED
        )
        clock.advance(seconds=6)
        reclaimed = ledger.reclaim_expired(clock.now(), max_attempts=2, limit=10)
    assert reclaimed[0].status is JobStatus.FAILED
    assert reclaimed[0].error == JobError("worker_lost", reclaimed[0].error.message)  # type: ignore[union-attr]
    assert [j.id for j in ledger.refunds_due(clock.now(), 10)] == [job.id]
    assert ledger.claim_refund(job.id) == 2
    assert ledger.claim_refund(job.id) == 0


async def test_succeed_fail_requeue_transitions(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    assert ledger.succeed(job.id, 1, [], clock.now()) is None  # not running yet
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    error = JobError("upstream_unavailable", "503")
    requeued = ledger.requeue(job.id, 1, error, due=clock.now() + timedelta(seconds=10))
    assert requeued is not None
    assert requeued.status is JobStatus.QUEUED
    assert requeued.error == error
    assert ledger.unenqueued(clock.now(), 10) == []  # due later
    assert ledger.unenqueued(clock.now() + timedelta(seconds=11), 10) == [job.id]
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    assert ledger.unenqueued(clock.now() + timedelta(seconds=11), 10) == []
    images = [StoredImage(0, "image/png", 10, 2), StoredImage(1, "image/png", 11, 2)]
    done = ledger.succeed(job.id, 2, images, clock.now())
    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert done.images == tuple(images)
    assert done.error is None
    assert ledger.fail(job.id, 2, error, clock.now()) is None  # terminal stays terminal
    assert ledger.fail(job.id, None, error, clock.now()) is None
    assert ledger.reclaim_expired(clock.now() + timedelta(hours=1), max_attempts=3, limit=9) == []
    assert await repo.get(job.id, "key_a") == done


async def test_release_refund_owes_it_again(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    ledger.fail(job.id, None, JobError("internal", "x"), clock.now())
    assert ledger.claim_refund(job.id) == 2
    ledger.release_refund(job.id)
    due = ledger.refunds_due(clock.now() + timedelta(days=400), 10)
    assert [(j.id, j.refunded) for j in due] == [(job.id, 0)]
    assert ledger.claim_refund(job.id) == 2


async def test_remove_forgets_the_job_everywhere(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    await repo.remove(job)
    assert await repo.get(job.id, "key_a") is None
    assert ledger.unenqueued(clock.now(), 10) == []
    # Only the queue's sequence counter, shared by every job, remains.
    assert sync_redis.keys("*") == [b"ig:queue:seq"]


# Attempt fencing: once an attempt has lost its lease, none of its transitions (renew, requeue,
# succeed, fail) changes the job, whichever attempt came after.
ONE = ImageRequest(prompt="a cat", n=1, model="placeholder")
ERROR = JobError("upstream_unavailable", "503")


def images(attempt: int) -> list[StoredImage]:
    return [StoredImage(0, "image/png", 10 + attempt, attempt)]


async def stalled_then_taken_over(
    repo: RedisJobStore, ledger: RedisJobTransitions, clock: FrozenClock
) -> Job:
    """Attempt 1 claims the job and stalls past its lease; the sweeper requeues it."""
    job = Job.queued(owner="key_a", request=ONE, now=clock.now(), ttl=timedelta(hours=1))
    await repo.add(job)
    assert ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=5).job is not None
    clock.advance(seconds=6)
    assert [j.id for j in ledger.reclaim_expired(clock.now(), max_attempts=3, limit=10)] == [job.id]
    return job


async def test_a_lost_attempt_changes_nothing_before_another_claims(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = await stalled_then_taken_over(repo, ledger, clock)
    assert ledger.succeed(job.id, 1, images(1), clock.now()) is None
    assert ledger.requeue(job.id, 1, ERROR, due=clock.now()) is None
    assert ledger.fail(job.id, 1, ERROR, clock.now()) is None
    still = ledger.get(job.id)
    assert still is not None
    assert (still.status, still.attempts) == (JobStatus.QUEUED, 1)


async def test_the_first_attempt_finishing_first_is_refused_and_the_second_publishes(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = await stalled_then_taken_over(repo, ledger, clock)
    second = ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=5)
    assert second.result is ClaimResult.CLAIMED
    assert second.job is not None
    assert second.job.attempts == 2
    # Attempt 1 wakes: its renewals, retries, failures and success are all refused.
    lease_before = sync_redis.hget(f"ig:job:{job.id}", "lease_until")
    ledger.renew([(job.id, 1)], clock.now() + timedelta(hours=1), 5)
    assert sync_redis.hget(f"ig:job:{job.id}", "lease_until") == lease_before
    assert ledger.requeue(job.id, 1, ERROR, due=clock.now()) is None
    assert ledger.fail(job.id, 1, ERROR, clock.now()) is None
    assert ledger.fail(job.id, None, ERROR, clock.now()) is None  # attempt 2 holds a live lease
    assert ledger.succeed(job.id, 1, images(1), clock.now()) is None
    done = ledger.succeed(job.id, 2, images(2), clock.now())
    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert done.images == tuple(images(2))
    assert ledger.refunds_due(clock.now() + timedelta(days=1), 10) == []


async def test_the_second_attempt_finishing_first_keeps_its_result(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = await stalled_then_taken_over(repo, ledger, clock)
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=5)
    assert ledger.succeed(job.id, 2, images(2), clock.now()) is not None
    assert ledger.succeed(job.id, 1, images(1), clock.now()) is None
    assert ledger.fail(job.id, 1, ERROR, clock.now()) is None
    final = await repo.get(job.id, "key_a")
    assert final is not None
    assert (final.status, final.images, final.refunded) == (
        JobStatus.SUCCEEDED, tuple(images(2)), 0,
    )  # fmt: skip


async def test_renew_extends_only_the_attempt_that_holds_the_job(
    repo: RedisJobStore, ledger: RedisJobTransitions
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = Job.queued(owner="key_a", request=ONE, now=clock.now(), ttl=timedelta(hours=1))
    await repo.add(job)
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=5)
    clock.advance(seconds=4)
    ledger.renew([(job.id, 1)], clock.now(), 5)
    clock.advance(seconds=4)  # 8 s after the claim, renewed at 4 s
    assert ledger.reclaim_expired(clock.now(), max_attempts=3, limit=10) == []


async def test_succeeding_records_the_run_since_the_first_claim_for_the_eta(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    job = new_job(clock)
    await repo.add(job)
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    clock.advance(seconds=2)
    ledger.requeue(job.id, 1, JobError("upstream_unavailable", "503"), due=clock.now())
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    clock.advance(seconds=2.5)
    assert ledger.succeed(job.id, 1, [], clock.now()) is None  # a stale attempt: no sample
    assert ledger.succeed(job.id, 2, [], clock.now()) is not None
    assert sync_redis.lrange("ig:run_seconds", 0, -1) == [b"4.500"]


async def test_the_recent_runs_the_succeed_step_keeps_are_capped(
    repo: RedisJobStore, ledger: RedisJobTransitions, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    for n in range(RECENT_RUNS + 3):
        job = new_job(clock)
        await repo.add(job)
        ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
        clock.advance(seconds=n)
        assert ledger.succeed(job.id, 1, [], clock.now()) is not None
    runs = sync_redis.lrange("ig:run_seconds", 0, -1)
    assert len(runs) == RECENT_RUNS
    assert runs[0] == f"{RECENT_RUNS + 2:.3f}".encode()  # newest first
