"""Waiting for a job to end (`Prefer: wait`, the seed aliases), woken by its change
notifications: no polling, so a waiter costs one read per change of its job, not per tick.

A job that ended without its result (failed, canceled, aborted) is refunded in a step of its
own, just after: a waiter woken by the end waits briefly (`REFUND_SETTLE_SECONDS`) for that
refund's change too, so the finished job it answers with shows its credits back. A refund
that is slower than that (the quota store is away) is answered as it stands.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from domain.job_changes import JobChanges
from domain.models import Job, JobStatus
from domain.ports import JobStore

MAX_WAIT_SECONDS = 60.0
REFUND_SETTLE_SECONDS = 1.0
_REFUNDED_WHEN_ENDED = (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.ABORTED)


def settled(job: Job) -> bool:
    """Terminal, and refunded if it is owed one."""
    if not job.status.terminal:
        return False
    return job.status not in _REFUNDED_WHEN_ENDED or job.refunded >= job.charged


@dataclass(frozen=True, slots=True)
class AwaitJob:
    jobs: JobStore
    changes: JobChanges

    async def __call__(self, job: Job, seconds: float) -> Job:
        """The job once terminal, or as it is when `seconds` (at most 60) have passed.
        Raises `TooManyWaiters` when its owner already holds too many waiters."""
        if settled(job) or seconds <= 0:
            return job
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(seconds, MAX_WAIT_SECONDS)
        async with self.changes.waiter(job.id, job.owner) as waiter:
            # Registered first: a change from here on is pending on the waiter, never missed.
            job = await self._read(job)
            ended_by: float | None = None
            while not settled(job):
                if job.status.terminal and ended_by is None:
                    ended_by = min(deadline, loop.time() + REFUND_SETTLE_SECONDS)
                remaining = (deadline if ended_by is None else ended_by) - loop.time()
                if remaining <= 0:
                    break
                wake = await waiter.changed(remaining)
                if wake is None:
                    break
                if wake.version is not None and wake.version <= job.version:
                    continue  # seen already
                job = await self._read(job)
        return job

    async def _read(self, job: Job) -> Job:
        fresh = await self.jobs.get(job.id, job.owner)
        return fresh if fresh is not None else job  # expired meanwhile: what we had
