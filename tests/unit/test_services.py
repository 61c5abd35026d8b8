"""The use cases against in-memory fakes of the ports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.admission import ChargeThenRecord
from domain.api_jobs import CancelJob, SubmitGeneration
from domain.api_keys import MintKey
from domain.errors import (
    InvalidKey,
    InvalidRequest,
    JobNotCancelable,
    JobNotFound,
    QueueUnavailable,
    QuotaExceeded,
    StoreUnavailable,
)
from domain.models import ImageRequest, JobStatus, Plan, RefillInterval
from tests.fakes.clock import FrozenClock
from tests.fakes.memory import MemoryJobs, MemoryQueue, MemoryQuota

pytestmark = pytest.mark.anyio
PLAN = Plan.build(10, RefillInterval.DAILY, 10)
REQUEST = ImageRequest(prompt="a cat", n=2, model="placeholder")


class World:
    def __init__(self) -> None:
        self.quota = MemoryQuota()
        self.jobs = MemoryJobs()
        self.queue = MemoryQueue()
        self.clock = FrozenClock()

    async def submit(self, key: str, request: ImageRequest = REQUEST):  # type: ignore[no-untyped-def]
        submit = SubmitGeneration(
            ChargeThenRecord(self.quota, self.jobs), self.quota, self.jobs, self.queue,
            self.clock, job_ttl=timedelta(hours=1), default_model="placeholder",
        )  # fmt: skip
        return await submit(key, request)


@pytest.fixture
def world() -> World:
    return World()


async def test_submit_charges_records_and_enqueues(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    submitted = await world.submit(key)
    job = submitted.job
    assert job.status is JobStatus.QUEUED
    assert job.charged == 2
    assert world.queue.sent == [job.id]
    assert world.quota.balances[job.owner] == 8
    assert submitted.charge.remaining == 8


async def test_invalid_request_costs_nothing(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    with pytest.raises(InvalidRequest) as caught:
        await world.submit(key, ImageRequest(prompt="", model="placeholder"))
    assert caught.value.field == "prompt"
    assert list(world.quota.balances.values()) == [10]


async def test_unknown_key_and_exhausted_quota(world: World) -> None:
    with pytest.raises(InvalidKey):
        await world.submit("ig_unknown")
    key = (await MintKey(world.quota, Plan.build(1, RefillInterval.NONE, 1))()).key
    with pytest.raises(QuotaExceeded) as caught:
        await world.submit(key)
    assert caught.value.retry_after is None  # the plan never refills
    assert caught.value.remaining == 1
    assert world.jobs.jobs == {}


async def test_enqueue_failure_refunds_and_forgets_the_job(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    world.queue.down = True
    with pytest.raises(QueueUnavailable):
        await world.submit(key)
    assert list(world.quota.balances.values()) == [10]
    assert world.jobs.jobs == {}
    assert len(world.quota.refunds) == 1


async def test_store_failure_refunds(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    world.jobs.fail_add = True
    with pytest.raises(StoreUnavailable):
        await world.submit(key)
    assert list(world.quota.balances.values()) == [10]
    assert world.queue.sent == []


async def test_cancel_refunds_once_then_409(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    canceled = await CancelJob(world.jobs, world.quota, world.clock)(job.id, owner=job.owner)
    assert canceled.status is JobStatus.CANCELED
    assert canceled.refunded == 2
    with pytest.raises(JobNotCancelable):
        await CancelJob(world.jobs, world.quota, world.clock)(job.id, owner=job.owner)
    with pytest.raises(JobNotFound):
        await CancelJob(world.jobs, world.quota, world.clock)(job.id, owner="key_other")
    assert world.quota.refunds == [(job.owner, 2)]
