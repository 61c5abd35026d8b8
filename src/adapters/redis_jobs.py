"""Jobs in Redis: one hash per job, a per-owner index, state transitions as Lua scripts.

Each transition is one atomic script that checks the current status first, so concurrent
workers, redeliveries, cancels and sweepers cannot move a job backwards or refund it twice.
`RedisJobRepository` is the API's async view; `RedisJobLedger` is the worker's sync view.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis
import redis.asyncio as aioredis

from domain.models import (
    ImageRequest,
    Job,
    JobError,
    JobStatus,
    OutputFormat,
    Quality,
    StoredImage,
)

# KEYS[1] = job hash. Every script returns the job's fields (flat list) or a status marker.
_START = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return nil end
if status ~= 'queued' and status ~= 'running' then return nil end
if tonumber(redis.call('HGET', KEYS[1], 'attempts')) >= tonumber(ARGV[2]) then return nil end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return redis.call('HGETALL', KEYS[1])
"""

_REQUEUE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return nil end
redis.call('HSET', KEYS[1], 'status', 'queued', 'error', ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""

_SUCCEED = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return nil end
redis.call('HSET', KEYS[1], 'status', 'succeeded', 'images', ARGV[1], 'finished_at', ARGV[2],
           'error', '')
return redis.call('HGETALL', KEYS[1])
"""

_FAIL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'running' then return nil end
redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[1], 'finished_at', ARGV[2])
return redis.call('HGETALL', KEYS[1])
"""

_CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return nil end
if status ~= 'queued' then return {0, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'error', ARGV[2], 'finished_at', ARGV[3])
return {1, redis.call('HGETALL', KEYS[1])}
"""

# Refund-once: whoever flips `refund_claimed` first gives the credits back.
_CLAIM_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'refund_claimed') == '1' then return 0 end
local charged = redis.call('HGET', KEYS[1], 'charged')
redis.call('HSET', KEYS[1], 'refund_claimed', '1', 'refunded', charged)
return tonumber(charged)
"""

_RELEASE_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'refund_claimed', '0', 'refunded', '0')
return 1
"""


def _ts(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_ts(raw: str) -> datetime | None:
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def _error_json(error: JobError) -> str:
    return json.dumps({"code": error.code, "message": error.message})


class JobKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def owner_index(self, owner: str) -> str:
        return f"{self.prefix}:jobs:{owner}"


def encode_job(job: Job) -> dict[str, str]:
    request = job.request
    return {
        "id": job.id,
        "owner": job.owner,
        "status": job.status.value,
        "request": json.dumps(
            {
                "prompt": request.prompt,
                "n": request.n,
                "size": request.size,
                "quality": request.quality.value,
                "output_format": request.output_format.value,
                "model": request.model,
            }
        ),
        "created_at": _ts(job.created_at),
        "expires_at": _ts(job.expires_at),
        "started_at": _ts(job.started_at),
        "finished_at": _ts(job.finished_at),
        "charged": str(job.charged),
        "refunded": str(job.refunded),
        "refund_claimed": "1" if job.refunded else "0",
        "images": json.dumps([[i.index, i.content_type, i.size] for i in job.images]),
        "error": _error_json(job.error) if job.error else "",
        "attempts": str(job.attempts),
        "request_id": job.request_id or "",
    }


def decode_job(raw: dict[Any, Any] | list[Any]) -> Job:
    if isinstance(raw, list):  # HGETALL from Lua arrives as a flat list
        raw = dict(zip(raw[::2], raw[1::2], strict=True))
    fields = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    request = json.loads(fields["request"])
    error = json.loads(fields["error"]) if fields.get("error") else None
    created_at = _parse_ts(fields["created_at"])
    expires_at = _parse_ts(fields["expires_at"])
    assert created_at is not None and expires_at is not None
    return Job(
        id=fields["id"],
        owner=fields["owner"],
        status=JobStatus(fields["status"]),
        request=ImageRequest(
            prompt=request["prompt"],
            n=request["n"],
            size=request["size"],
            quality=Quality(request["quality"]),
            output_format=OutputFormat(request["output_format"]),
            model=request["model"],
        ),
        created_at=created_at,
        expires_at=expires_at,
        started_at=_parse_ts(fields.get("started_at", "")),
        finished_at=_parse_ts(fields.get("finished_at", "")),
        charged=int(fields["charged"]),
        refunded=int(fields.get("refunded", "0")),
        images=tuple(StoredImage(i, t, s) for i, t, s in json.loads(fields.get("images", "[]"))),
        error=JobError(error["code"], error["message"]) if error else None,
        attempts=int(fields.get("attempts", "0")),
        request_id=fields.get("request_id") or None,
    )


def _index_member(job: Job) -> str:
    # Lexicographic order of "<created ms>:<id>" = creation order; ids break ties.
    return f"{int(job.created_at.timestamp() * 1000):013d}:{job.id}"


def _encode_cursor(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        member = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("cursor is not valid") from None
    if ":" not in member:
        raise ValueError("cursor is not valid")
    return member


class RedisJobRepository:
    """The API's view of jobs (async). Reads are scoped to the owner."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "ig") -> None:
        self._redis = client
        self._keys = JobKeys(prefix)
        self._cancel = client.register_script(_CANCEL)
        self._claim_refund = client.register_script(_CLAIM_REFUND)
        self._release_refund = client.register_script(_RELEASE_REFUND)

    async def add(self, job: Job) -> None:
        key, index = self._keys.job(job.id), self._keys.owner_index(job.owner)
        expire_at = int(job.expires_at.timestamp()) + 1
        cutoff = f"{int(job.created_at.timestamp() * 1000) - self._ttl_ms(job):013d}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=dict(encode_job(job)))  # type: ignore[arg-type]
            pipe.expireat(key, expire_at)
            pipe.zadd(index, {_index_member(job): 0})
            pipe.zremrangebylex(index, "-", f"({cutoff}")  # forget expired jobs
            pipe.expireat(index, expire_at)
            await pipe.execute()

    @staticmethod
    def _ttl_ms(job: Job) -> int:
        return int((job.expires_at - job.created_at).total_seconds() * 1000)

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
        start = f"({_decode_cursor(cursor)}" if cursor else "+"
        raw = await self._redis.zrevrangebylex(index, start, "-", start=0, num=limit + 1)
        members: list[str] = [m.decode() if isinstance(m, bytes) else str(m) for m in raw]
        page = members[:limit]
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in page:
                pipe.hgetall(self._keys.job(member.split(":", 1)[1]))
            rows = await pipe.execute()
        jobs = [decode_job(row) for row in rows if row]
        jobs = [job for job in jobs if job.owner == owner]
        next_cursor = _encode_cursor(page[-1]) if len(members) > limit else None
        return jobs, next_cursor

    async def cancel(self, job_id: str, owner: str, now: datetime) -> tuple[Job | None, bool]:
        error = _error_json(JobError("canceled", "Canceled by the caller."))
        result = await self._cancel(keys=[self._keys.job(job_id)], args=[owner, error, _ts(now)])
        if result is None:
            return None, False
        changed, fields = result
        return decode_job(fields), bool(changed)

    async def remove(self, job: Job) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.job(job.id))
            pipe.zrem(self._keys.owner_index(job.owner), _index_member(job))
            await pipe.execute()

    async def claim_refund(self, job_id: str) -> int:
        return int(await self._claim_refund(keys=[self._keys.job(job_id)]))

    async def release_refund(self, job_id: str) -> None:
        await self._release_refund(keys=[self._keys.job(job_id)])

    async def ping(self) -> None:
        await self._redis.ping()


class RedisJobLedger:
    """The worker's view of jobs (sync): atomic state transitions."""

    def __init__(self, client: redis.Redis, *, prefix: str = "ig") -> None:
        self._redis = client
        self._keys = JobKeys(prefix)
        self._start = client.register_script(_START)
        self._requeue = client.register_script(_REQUEUE)
        self._succeed = client.register_script(_SUCCEED)
        self._fail = client.register_script(_FAIL)
        self._claim_refund = client.register_script(_CLAIM_REFUND)
        self._release_refund = client.register_script(_RELEASE_REFUND)

    def _job_or_none(self, raw: Any) -> Job | None:
        return decode_job(raw) if raw else None

    def get(self, job_id: str) -> Job | None:
        return self._job_or_none(self._redis.hgetall(self._keys.job(job_id)))

    def start(self, job_id: str, now: datetime, max_attempts: int) -> Job | None:
        keys = [self._keys.job(job_id)]
        return self._job_or_none(self._start(keys=keys, args=[_ts(now), max_attempts]))

    def requeue(self, job_id: str, error: JobError) -> Job | None:
        keys = [self._keys.job(job_id)]
        return self._job_or_none(self._requeue(keys=keys, args=[_error_json(error)]))

    def succeed(self, job_id: str, images: Sequence[StoredImage], now: datetime) -> Job | None:
        encoded = json.dumps([[i.index, i.content_type, i.size] for i in images])
        keys = [self._keys.job(job_id)]
        return self._job_or_none(self._succeed(keys=keys, args=[encoded, _ts(now)]))

    def fail(self, job_id: str, error: JobError, now: datetime) -> Job | None:
        keys = [self._keys.job(job_id)]
        return self._job_or_none(self._fail(keys=keys, args=[_error_json(error), _ts(now)]))

    def claim_refund(self, job_id: str) -> int:
        return int(self._claim_refund(keys=[self._keys.job(job_id)]))

    def release_refund(self, job_id: str) -> None:
        self._release_refund(keys=[self._keys.job(job_id)])
