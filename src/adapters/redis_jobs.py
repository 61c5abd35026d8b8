"""Jobs in Redis: one hash per job, a per-owner index, and the state machine as Lua scripts.

Each transition is one atomic script that checks the current status first, so concurrent
workers, redeliveries, cancels and sweepers can neither move a job backwards nor refund it
twice. Three sorted sets make crashes recoverable: leases (running jobs), the outbox (every
queued job, scored by when the sweeper should next make sure the broker has it: at once
until the first enqueue succeeds, then every `recheck_seconds` until a worker claims it, so a
message lost with a crashed worker's prefetch is sent again) and owed refunds.
`RedisJobRepository` is the API's async view; `RedisJobLedger` is the worker's and the
sweeper's sync view.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import redis
import redis.asyncio as aioredis

from adapters import redis_job_scripts as lua
from adapters.redis_jobs_codec import (
    JobKeys,
    decode_cursor,
    decode_job,
    encode_cursor,
    encode_job,
    error_json,
    index_member,
    ms,
    ts,
)
from domain.models import Claim, ClaimResult, Job, JobError, StoredImage

CANCELED = JobError("canceled", "Canceled by the caller.")
WORKER_LOST = JobError("worker_lost", "The job's workers were lost too many times.")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def record_bounds(job: Job) -> tuple[int, str]:
    """When the job's keys expire (epoch s), and the owner-index member below which entries
    belong to expired jobs."""
    ttl_ms = ms(job.expires_at) - ms(job.created_at)
    return int(job.expires_at.timestamp()) + 1, f"{ms(job.created_at) - ttl_ms:013d}"


class RedisJobRepository:
    """The API's view of jobs (async). Reads are scoped to the owner."""

    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "ig", recheck_seconds: float = 600
    ) -> None:
        self._redis = client
        self._keys = JobKeys(prefix)
        self._recheck_ms = int(recheck_seconds * 1000)
        self._cancel = client.register_script(lua.CANCEL)
        self._claim_refund = client.register_script(lua.CLAIM_REFUND)
        self._release_refund = client.register_script(lua.RELEASE_REFUND)

    async def add(self, job: Job) -> None:
        """Record the job and put it in the outbox, in one transaction."""
        keys = self._keys
        index = keys.owner_index(job.owner)
        expire_at, cutoff = record_bounds(job)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.job(job.id), mapping=dict(encode_job(job)))  # type: ignore[arg-type]
            pipe.expireat(keys.job(job.id), expire_at)
            pipe.zadd(index, {index_member(job): 0})
            pipe.zremrangebylex(index, "-", f"({cutoff}")  # forget expired jobs
            pipe.expireat(index, expire_at)
            pipe.zadd(keys.outbox, {job.id: ms(job.created_at)})
            await pipe.execute()

    async def mark_enqueued(self, job_ids: Sequence[str]) -> None:
        """The broker has these jobs: check on them again only after `recheck_seconds`."""
        if not job_ids:
            return
        # XX: a worker that already claimed a job took it out; do not put it back.
        due = int(time.time() * 1000) + self._recheck_ms
        await self._redis.zadd(self._keys.outbox, dict.fromkeys(job_ids, due), xx=True)

    async def get(self, job_id: str, owner: str) -> Job | None:
        raw = await self._redis.hgetall(self._keys.job(job_id))
        if not raw:
            return None
        job = decode_job(raw)
        return job if job.owner == owner else None

    async def list(
        self, owner: str, *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Job], str | None]:
        index = self._keys.owner_index(owner)
        start = f"({decode_cursor(cursor)}" if cursor else "+"
        raw = await self._redis.zrevrangebylex(index, start, "-", start=0, num=limit + 1)
        members = [_text(m) for m in raw]
        page = members[:limit]
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in page:
                pipe.hgetall(self._keys.job(member.split(":", 1)[1]))
            rows = await pipe.execute()
        jobs = [job for job in (decode_job(row) for row in rows if row) if job.owner == owner]
        next_cursor = encode_cursor(page[-1]) if len(members) > limit else None
        return jobs, next_cursor

    async def cancel(self, job_id: str, owner: str, now: datetime) -> tuple[Job | None, bool]:
        keys = self._keys
        result = await self._cancel(
            keys=[keys.job(job_id), keys.outbox, keys.refunds],
            args=[owner, error_json(CANCELED), ts(now), ms(now), job_id],
        )
        if result is None:
            return None, False
        changed, fields = result
        return decode_job(fields), bool(changed)

    async def remove(self, job: Job) -> None:
        keys = self._keys
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.job(job.id))
            pipe.zrem(keys.owner_index(job.owner), index_member(job))
            pipe.zrem(keys.outbox, job.id)
            pipe.zrem(keys.refunds, job.id)
            await pipe.execute()

    async def claim_refund(self, job_id: str) -> int:
        keys = [self._keys.job(job_id), self._keys.refunds]
        return int(await self._claim_refund(keys=keys, args=[job_id]))

    async def release_refund(self, job_id: str) -> None:
        keys = [self._keys.job(job_id), self._keys.refunds]
        await self._release_refund(keys=keys, args=[ms(datetime.now().astimezone()), job_id])

    async def ping(self) -> None:
        await self._redis.ping()


class RedisJobLedger:
    """The worker's and the sweeper's view of jobs (sync): atomic state transitions."""

    def __init__(
        self, client: redis.Redis, *, prefix: str = "ig", recheck_seconds: float = 600
    ) -> None:
        self._redis = client
        self._keys = JobKeys(prefix)
        self._recheck_ms = int(recheck_seconds * 1000)
        scripts = (
            "START", "RENEW", "REQUEUE", "SUCCEED", "FAIL", "CLAIM_REFUND", "RELEASE_REFUND",
            "RECLAIM", "UNENQUEUED", "REFUNDS_DUE",
        )  # fmt: skip
        self._scripts = {name: client.register_script(getattr(lua, name)) for name in scripts}

    def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[name](keys=keys, args=args)

    @staticmethod
    def _job_or_none(raw: Any) -> Job | None:
        return decode_job(raw) if raw else None

    def get(self, job_id: str) -> Job | None:
        return self._job_or_none(self._redis.hgetall(self._keys.job(job_id)))

    def start(
        self, job_id: str, now: datetime, *, max_attempts: int, lease_seconds: float
    ) -> Claim:
        k = self._keys
        lease_until = ms(now + timedelta(seconds=lease_seconds))
        reply = self._run(
            "START",
            [k.job(job_id), k.leases, k.outbox],
            [ts(now), ms(now), max_attempts, lease_until, job_id],
        )
        result = ClaimResult(_text(reply[0]))
        return Claim(result, decode_job(reply[1]) if result is ClaimResult.CLAIMED else None)

    def renew(self, job_ids: Collection[str], now: datetime, lease_seconds: float) -> None:
        if job_ids:
            until = ms(now + timedelta(seconds=lease_seconds))
            self._run("RENEW", [self._keys.leases], [self._keys.prefix, until, *job_ids])

    def requeue(self, job_id: str, error: JobError, *, due: datetime) -> Job | None:
        k = self._keys
        reply = self._run(
            "REQUEUE", [k.job(job_id), k.leases, k.outbox], [error_json(error), ms(due), job_id]
        )
        return self._job_or_none(reply)

    def succeed(self, job_id: str, images: Sequence[StoredImage], now: datetime) -> Job | None:
        encoded = json.dumps([[i.index, i.content_type, i.size] for i in images])
        keys = [self._keys.job(job_id), self._keys.leases]
        return self._job_or_none(self._run("SUCCEED", keys, [encoded, ts(now), job_id]))

    def fail(self, job_id: str, error: JobError, now: datetime) -> Job | None:
        k = self._keys
        reply = self._run(
            "FAIL",
            [k.job(job_id), k.leases, k.outbox, k.refunds],
            [error_json(error), ts(now), ms(now), job_id],
        )
        return self._job_or_none(reply)

    def claim_refund(self, job_id: str) -> int:
        return int(
            self._run("CLAIM_REFUND", [self._keys.job(job_id), self._keys.refunds], [job_id])
        )

    def release_refund(self, job_id: str) -> None:
        now_ms = ms(datetime.now().astimezone())
        self._run("RELEASE_REFUND", [self._keys.job(job_id), self._keys.refunds], [now_ms, job_id])

    def reclaim_expired(self, now: datetime, *, max_attempts: int, limit: int) -> list[Job]:
        k = self._keys
        rows = self._run(
            "RECLAIM",
            [k.leases, k.outbox, k.refunds],
            [k.prefix, ms(now), ts(now), max_attempts, limit, error_json(WORKER_LOST)],
        )
        return [decode_job(row) for row in rows]

    def unenqueued(self, before: datetime, limit: int) -> list[str]:
        ids = self._run("UNENQUEUED", [self._keys.outbox], [self._keys.prefix, ms(before), limit])
        return [_text(i) for i in ids]

    def mark_enqueued(self, job_id: str) -> None:
        due = int(time.time() * 1000) + self._recheck_ms
        self._redis.zadd(self._keys.outbox, {job_id: due}, xx=True)

    def refunds_due(self, before: datetime, limit: int) -> list[Job]:
        k = self._keys
        rows = self._run("REFUNDS_DUE", [k.refunds], [k.prefix, ms(before), limit])
        return [decode_job(row) for row in rows]
