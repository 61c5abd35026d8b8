"""Waiting for a job to end (`Prefer: wait`, the seed aliases), woken by its change
notifications: no polling, so a waiter costs one read per change of its job, not per tick."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from domain.job_changes import JobChanges
from domain.models import Job
from domain.ports import JobRepository

MAX_WAIT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class AwaitJob:
    jobs: JobRepository
    changes: JobChanges

    async def __call__(self, job: Job, seconds: float) -> Job:
        """The job once terminal, or as it is when `seconds` (at most 60) have passed.
        Raises `TooManyWaiters` when its owner already holds too many waiters."""
        if job.status.terminal or seconds <= 0:
            return job
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(seconds, MAX_WAIT_SECONDS)
        async with self.changes.waiter(job.id, job.owner) as waiter:
            # Registered first: a change from here on is pending on the waiter, never missed.
            job = await self._read(job)
            while not job.status.terminal:
                remaining = deadline - loop.time()
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
