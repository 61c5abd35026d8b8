"""Jobs in Redis: one hash per job, a per-owner index, and the state machine as Lua scripts.

Each transition is one atomic script that checks the current status (and, for a worker's
transitions, its attempt) first, so concurrent workers, redeliveries, cancels and sweepers can
neither move a job backwards nor refund it twice, and an attempt that lost its lease cannot
publish. Three sorted sets make crashes recoverable: leases (running jobs), the outbox (every
queued job, scored by when the sweeper should next make sure the broker has it: at once
until the first enqueue succeeds, then every `recheck_seconds` until a worker claims it, so a
message lost with a crashed worker's prefetch is sent again) and owed refunds.

`RedisJobStore` is the API's async view; `RedisJobTransitions` is the worker's and the
sweeper's sync view. Both build their operations with `redis_ops_jobs`; the shared ones
(refund claims, marking enqueued) are one line on each side.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

import redis
import redis.asyncio as aioredis

from adapters import redis_ops_jobs as ops
from adapters.redis_jobs_codec import (
    JobKeys,
    decode_cursor,
    decode_job,
    encode_cursor,
    encode_job,
    index_member,
    ms,
    record_bounds,
)
from adapters.redis_ops import AsyncRunner, SyncRunner, load_script, store_errors, text
from domain.models import Claim, Job, JobError, StoredImage


def _now() -> datetime:
    return datetime.now(UTC)


class RedisJobStore:
    """The API's view of jobs (async). Reads are scoped to the owner."""

    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "ig", recheck_seconds: float = 600
    ) -> None:
        self._redis = client
        self._ops = AsyncRunner(client)
        self._keys = JobKeys(prefix)
        self._recheck = timedelta(seconds=recheck_seconds)
        self._enqueue = client.register_script(load_script("queue_enter.lua"))

    async def add(self, job: Job) -> None:
        """Record the job and put it in the outbox, in one transaction."""
        keys = self._keys
        index = keys.owner_index(job.owner)
        expire_at, cutoff = record_bounds(job)
        with store_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(keys.job(job.id), mapping=dict(encode_job(job)))  # type: ignore[arg-type]
                pipe.expireat(keys.job(job.id), expire_at)
                pipe.zadd(index, {index_member(job): 0})
                pipe.zremrangebylex(index, "-", f"({cutoff}")  # forget expired jobs
                pipe.expireat(index, expire_at)
                pipe.zadd(keys.outbox, {job.id: ms(job.created_at)})
                await self._enqueue(keys=[keys.queue, keys.queue_seq], args=[job.id], client=pipe)
                if job.deadline_at is not None:
                    pipe.zadd(keys.deadlines, {job.id: ms(job.deadline_at)})
                await pipe.execute()

    async def mark_enqueued(self, job_ids: Sequence[str]) -> None:
        """The broker has these jobs: check on them again only after `recheck_seconds`."""
        if job_ids:
            await self._ops.run(ops.mark_enqueued(self._keys, job_ids, _now() + self._recheck))

    async def get(self, job_id: str, owner: str) -> Job | None:
        job = await self._ops.run(ops.get(self._keys, job_id))
        return job if job is not None and job.owner == owner else None

    async def list(
        self, owner: str, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Job], str | None]:
        index = self._keys.owner_index(owner)
        start = f"({decode_cursor(cursor)}" if cursor else "+"
        with store_errors():
            raw = await self._redis.zrevrangebylex(index, start, "-", start=0, num=limit + 1)
            members = [text(m) for m in raw]
            page = members[:limit]
            async with self._redis.pipeline(transaction=False) as pipe:
                for member in page:
                    pipe.hgetall(self._keys.job(member.split(":", 1)[1]))
                rows = await pipe.execute()
        jobs = [job for job in (decode_job(row) for row in rows if row) if job.owner == owner]
        next_cursor = encode_cursor(page[-1]) if len(members) > limit else None
        return jobs, next_cursor

    async def cancel(self, job_id: str, owner: str, now: datetime) -> tuple[Job | None, bool]:
        return await self._ops.run(ops.cancel(self._keys, job_id, owner, now))

    async def withdraw(self, job_id: str, now: datetime) -> Job | None:
        return await self._ops.run(ops.withdraw(self._keys, job_id, now))

    async def remove(self, job: Job) -> None:
        keys = self._keys
        with store_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(keys.job(job.id))
                pipe.zrem(keys.owner_index(job.owner), index_member(job))
                pipe.zrem(keys.outbox, job.id)
                pipe.zrem(keys.refunds, job.id)
                pipe.zrem(keys.queue, job.id)
                pipe.zrem(keys.deadlines, job.id)
                await pipe.execute()

    async def claim_refund(self, job_id: str) -> int:
        return await self._ops.run(ops.claim_refund(self._keys, job_id))

    async def release_refund(self, job_id: str) -> None:
        await self._ops.run(ops.release_refund(self._keys, job_id, _now()))

    async def expire_deadlines(self, now: datetime, limit: int) -> Sequence[Job]:
        return await self._ops.run(ops.expire_deadlines(self._keys, now, limit))

    async def ping(self) -> None:
        with store_errors():
            await self._redis.ping()


class RedisJobTransitions:
    """The worker's and the sweeper's view of jobs (sync): atomic, attempt-fenced transitions."""

    def __init__(
        self, client: redis.Redis, *, prefix: str = "ig", recheck_seconds: float = 600
    ) -> None:
        self._ops = SyncRunner(client)
        self._keys = JobKeys(prefix)
        self._recheck = timedelta(seconds=recheck_seconds)

    def get(self, job_id: str) -> Job | None:
        return self._ops.run(ops.get(self._keys, job_id))

    def start(
        self, job_id: str, now: datetime, *, max_attempts: int, lease_seconds: float
    ) -> Claim:
        op = ops.start(
            self._keys, job_id, now, max_attempts=max_attempts, lease_seconds=lease_seconds
        )
        return self._ops.run(op)

    def renew(
        self, held: Collection[tuple[str, int]], now: datetime, lease_seconds: float
    ) -> list[tuple[str, int]]:
        if not held:
            return []
        return self._ops.run(ops.renew(self._keys, held, now, lease_seconds))

    def requeue(self, job_id: str, attempt: int, error: JobError, *, due: datetime) -> Job | None:
        return self._ops.run(ops.requeue(self._keys, job_id, attempt, error, due))

    def succeed(
        self, job_id: str, attempt: int, images: Sequence[StoredImage], now: datetime
    ) -> Job | None:
        # The script also records the run's duration for the queue ETA (redis_queue_place).
        return self._ops.run(ops.succeed(self._keys, job_id, attempt, images, now))

    def fail(self, job_id: str, attempt: int | None, error: JobError, now: datetime) -> Job | None:
        return self._ops.run(ops.fail(self._keys, job_id, attempt, error, now))

    def claim_refund(self, job_id: str) -> int:
        return self._ops.run(ops.claim_refund(self._keys, job_id))

    def release_refund(self, job_id: str) -> None:
        self._ops.run(ops.release_refund(self._keys, job_id, _now()))

    def reclaim_expired(self, now: datetime, *, max_attempts: int, limit: int) -> list[Job]:
        op = ops.reclaim_expired(self._keys, now, max_attempts=max_attempts, limit=limit)
        return self._ops.run(op)

    def unenqueued(self, before: datetime, limit: int) -> list[str]:
        return self._ops.run(ops.unenqueued(self._keys, before, limit))

    def mark_enqueued(self, job_id: str) -> None:
        self._ops.run(ops.mark_enqueued(self._keys, [job_id], _now() + self._recheck))

    def refunds_due(self, before: datetime, limit: int) -> list[Job]:
        return self._ops.run(ops.refunds_due(self._keys, before, limit))

    def expire_deadlines(self, now: datetime, limit: int) -> list[Job]:
        return self._ops.run(ops.expire_deadlines(self._keys, now, limit))
