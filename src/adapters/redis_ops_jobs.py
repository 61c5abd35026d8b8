"""The job state machine's Redis operations, sans I/O (see `redis_ops`): each function builds
one script call and the decoding of its reply. Every transition a worker makes carries its
attempt number, checked in the same script (`lib_fence.lua`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from adapters.redis_jobs_codec import JobKeys, decode_job, error_json, images_json, ms, ts
from adapters.redis_ops import Op, text
from adapters.redis_queue_place import RECENT_RUNS
from domain.errors import DEADLINE_EXCEEDED, WORKER_LOST
from domain.models import Claim, ClaimResult, Job, JobError, StoredImage

CANCELED = JobError("canceled", "Canceled by the caller.")
WITHDRAWN = JobError("canceled", "The submit was answered 503: the job was withdrawn, refunded.")


def _job_or_none(raw: Any) -> Job | None:
    return decode_job(raw) if raw else None


def _jobs(rows: Any) -> list[Job]:
    return [decode_job(row) for row in rows]


def _claim(reply: Any) -> Claim:
    result = ClaimResult(text(reply[0]))
    return Claim(result, decode_job(reply[1]) if len(reply) > 1 else None)


def _none(_: Any) -> None:
    return None


def get(k: JobKeys, job_id: str) -> Op[Job | None]:
    return Op("job_get.lua", [k.job(job_id)], [], _job_or_none)


def start(
    k: JobKeys, job_id: str, now: datetime, *, max_attempts: int, lease_seconds: float
) -> Op[Claim]:
    lease_until = ms(now + timedelta(seconds=lease_seconds))
    keys = [k.job(job_id), k.leases, k.outbox, k.queue, k.changes]
    return Op("job_start.lua", keys, [ts(now), ms(now), max_attempts, lease_until, job_id], _claim)


def renew(
    k: JobKeys, held: Collection[tuple[str, int]], now: datetime, lease_seconds: float
) -> Op[list[tuple[str, int]]]:
    until = ms(now + timedelta(seconds=lease_seconds))
    pairs = [item for job_id, attempt in held for item in (job_id, str(attempt))]
    attempts = dict(held)

    def lost(ids: Any) -> list[tuple[str, int]]:
        return [(text(i), attempts[text(i)]) for i in ids]

    return Op("job_renew.lua", [k.leases], [k.prefix, until, *pairs], lost)


def requeue(
    k: JobKeys, job_id: str, attempt: int, error: JobError, due: datetime
) -> Op[Job | None]:
    keys = [k.job(job_id), k.leases, k.outbox, k.queue, k.queue_seq, k.changes]
    args = [str(attempt), error_json(error), ms(due), job_id]
    return Op("job_requeue.lua", keys, args, _job_or_none)


def succeed(
    k: JobKeys, job_id: str, attempt: int, images: Sequence[StoredImage], now: datetime
) -> Op[Job | None]:
    args = [str(attempt), images_json(images), ts(now), job_id, ms(now), RECENT_RUNS]
    keys = [k.job(job_id), k.leases, k.changes, k.run_seconds]
    return Op("job_succeed.lua", keys, args, _job_or_none)


def fail(
    k: JobKeys, job_id: str, attempt: int | None, error: JobError, now: datetime
) -> Op[Job | None]:
    keys = [k.job(job_id), k.leases, k.outbox, k.refunds, k.queue, k.changes]
    fence = "" if attempt is None else str(attempt)
    args = [fence, error_json(error), ts(now), ms(now), job_id]
    return Op("job_fail.lua", keys, args, _job_or_none)


def cancel(k: JobKeys, job_id: str, owner: str, now: datetime) -> Op[tuple[Job | None, bool]]:
    def decode(reply: Any) -> tuple[Job | None, bool]:
        if reply is None:
            return None, False
        changed, fields = reply
        return decode_job(fields), bool(changed)

    keys = [k.job(job_id), k.outbox, k.refunds, k.queue, k.changes, k.leases]
    args = [owner, error_json(CANCELED), ts(now), ms(now), job_id]
    return Op("job_cancel.lua", keys, args, decode)


def withdraw(k: JobKeys, job_id: str, now: datetime) -> Op[Job | None]:
    def decode(reply: Any) -> Job | None:
        return None if reply is None else decode_job(reply)

    keys = [k.job(job_id), k.outbox, k.refunds, k.queue, k.changes, k.leases]
    return Op("job_withdraw.lua", keys, [error_json(WITHDRAWN), ts(now), ms(now), job_id], decode)


def claim_refund(k: JobKeys, job_id: str) -> Op[int]:
    return Op("job_claim_refund.lua", [k.job(job_id), k.refunds, k.changes], [job_id], int)


def release_refund(k: JobKeys, job_id: str, now: datetime) -> Op[None]:
    keys = [k.job(job_id), k.refunds, k.changes]
    return Op("job_release_refund.lua", keys, [ms(now), job_id], _none)


def mark_enqueued(k: JobKeys, job_ids: Sequence[str], due: datetime) -> Op[None]:
    return Op("job_mark_enqueued.lua", [k.outbox], [ms(due), *job_ids], _none)


def reclaim_expired(k: JobKeys, now: datetime, *, max_attempts: int, limit: int) -> Op[list[Job]]:
    args = [k.prefix, ms(now), ts(now), max_attempts, limit, error_json(WORKER_LOST)]
    keys = [k.leases, k.outbox, k.refunds, k.queue, k.queue_seq, k.changes]
    return Op("job_reclaim.lua", keys, args, _jobs)


def unenqueued(k: JobKeys, before: datetime, limit: int) -> Op[list[str]]:
    def decode(ids: Any) -> list[str]:
        return [text(i) for i in ids]

    return Op("job_unenqueued.lua", [k.outbox], [k.prefix, ms(before), limit], decode)


def refunds_due(k: JobKeys, before: datetime, limit: int) -> Op[list[Job]]:
    return Op("job_refunds_due.lua", [k.refunds], [k.prefix, ms(before), limit], _jobs)


def expire_deadlines(k: JobKeys, now: datetime, limit: int) -> Op[list[Job]]:
    """Queued jobs past their deadline → aborted, running ones → canceled; refunds owed."""
    keys = [k.deadlines, k.leases, k.outbox, k.refunds, k.queue, k.changes]
    args = [k.prefix, ms(now), ts(now), limit, error_json(DEADLINE_EXCEEDED)]
    return Op("job_deadlines.lua", keys, args, _jobs)
