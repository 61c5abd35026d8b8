"""AwaitJob against in-memory fakes: woken by changes, and a failed job's refund awaited."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.job_waiting import AwaitJob
from domain.models import ImageRequest, Job, JobStatus
from tests.fakes.clock import FrozenClock
from tests.fakes.lifecycle import MemoryChanges
from tests.fakes.memory import MemoryJobs

pytestmark = pytest.mark.anyio
REQUEST = ImageRequest(prompt="a cat", n=2, model="placeholder")


def _queued(jobs: MemoryJobs) -> Job:
    job = Job.queued(owner="k", request=REQUEST, now=FrozenClock().now(), ttl=timedelta(hours=1))
    jobs.jobs[job.id] = job
    return job


def _change(jobs: MemoryJobs, changes: MemoryChanges, job: Job, **fields: object) -> None:
    current = jobs.jobs[job.id]
    jobs.jobs[job.id] = current.evolve(version=current.version + 1, **fields)
    changes.notify(job.id, current.version + 1)


async def _until_waiting(changes: MemoryChanges) -> None:
    while changes.waiting == 0:
        await asyncio.sleep(0.005)


async def test_a_failed_job_is_answered_once_its_refund_is_in() -> None:
    jobs, changes = MemoryJobs(), MemoryChanges()
    job = _queued(jobs)
    waiting = asyncio.create_task(AwaitJob(jobs, changes)(job, 30))
    await asyncio.wait_for(_until_waiting(changes), 5)
    _change(jobs, changes, job, status=JobStatus.FAILED)  # the refund is a step of its own
    await asyncio.sleep(0.05)
    assert not waiting.done()
    _change(jobs, changes, job, refunded=2)
    done = await asyncio.wait_for(waiting, 5)
    assert done.status is JobStatus.FAILED and done.refunded == 2


async def test_a_slow_refund_is_not_waited_for_long() -> None:
    jobs, changes = MemoryJobs(), MemoryChanges()
    job = _queued(jobs)
    waiting = asyncio.create_task(AwaitJob(jobs, changes)(job, 30))
    await asyncio.wait_for(_until_waiting(changes), 5)
    _change(jobs, changes, job, status=JobStatus.CANCELED)
    done = await asyncio.wait_for(waiting, 10)  # about a second, far below the 30 asked
    assert done.status is JobStatus.CANCELED and done.refunded == 0
